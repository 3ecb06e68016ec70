// Recurrent layers (RNN tanh/relu, LSTM with optional projection, GRU) on the
// CPU: one layer, one direction, the whole sequence per call. The maths and
// the tensors are in kernels/rnn.h; the per-element gate formulas in
// kernels/formulas/rnn.hpp; the reserve's columns in kernels/ops/rnn.hpp.
//
// forward (G gates, H hidden, Hout = P or H; b = batch(t) rows at step t):
//   gates(rows, GH)  = x W_ih^T                         one GEMM over all rows
//   per step, in processing order, on a team of threads that each own blocks
//   of hidden units (StepTeam):
//     rec = h'[t] W_hh^T for the thread's gate columns (W_hh packed once)
//     fused gate kernel: gates + rec + biases -> activations in place, c, h
//     (or m, then h = m W_hr^T); h, c -> y[t], the next step's h'/c' rows,
//     h_n/c_n for rows ending here; one barrier
// backward (steps in the opposite order; dh, dc the running state gradients):
//     dh[:b] += dy[t];  (projection: dm = dh W_hr)
//     fused kernel on the thread's units: dgates[t] (GRU: and dgates_h[t]),
//     dc[:b], GRU's z dh; a barrier
//     dh[:b] = dgates_h[t] W_hh (+ z dh for GRU), the thread's columns
//   then, each ONE product over all rows:
//     dx = dgates W_ih;  dw_ih = dgates^T x;  dw_hh = dgates_h^T h';
//     db_ih, db_hh = column sums;  dw_hr = dh_all^T m
// The gate kernels are row functions compiled for AVX-512 / AVX2 / baseline
// (KN_SIMD_CLONES) under elementwise.hpp's no-trapping-math, which lets GCC
// vectorise the formulas' selects: without them the LSTM gates of a
// T=32, N=64, H=256 layer took 38 ms of its 63 ms forward (1 thread, Intel
// Xeon). Every unit is computed by the same code whatever the thread split,
// and each GEMM tile by one thread in a fixed order.
#include "kernels/internal/elementwise.hpp"  // first: its pragma covers this file

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/formulas/rnn.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/gemm_ladder.hpp"
#include "kernels/internal/matmul.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/rnn.hpp"

namespace kn::cpu {
namespace {

// The fused gate kernels, one row's units [u0, u0 + n) per call (pointers at
// unit u0; a row's gates are H apart), on local blocks of
// kBlock units as elementwise.hpp's loops do: each array's block is copied
// into a local array, computed there, and the outputs (bit k of Out) copied
// back. Local arrays let GCC vectorise (the gates of one row are one array at
// offsets 0, H, 2H, 3H, which it cannot prove apart), and the zero-padded last
// block leaves no scalar remainder.
template <unsigned Out, unsigned Skip, typename T, size_t K, typename F>
inline __attribute__((always_inline)) void one_block(int64_t j0, size_t bytes,
                                                     const std::array<T*, K>& rows, F& fn) {
  T a[K][kBlock];
  if (bytes < sizeof a[0]) std::memset(a, 0, sizeof a);  // the zero-padded last block
  for (size_t k = 0; k < K; ++k)
    if (!(Skip & (1u << k))) std::memcpy(a[k], rows[k] + j0, bytes);
  for (int64_t j = 0; j < kBlock; ++j) fn(a, j);
  for (size_t k = 0; k < K; ++k)
    if (Out & (1u << k)) std::memcpy(rows[k] + j0, a[k], bytes);
}
// (Full blocks copy a constant size, which compiles to vector moves; a variable
// size became `rep movs`, which cost more than the gate maths.)
// Skip: arrays that are outputs only (not read: no load of their cold memory).
template <unsigned Out, unsigned Skip, typename T, size_t K, typename F>
inline __attribute__((always_inline)) void blocked_skip(int64_t H, const std::array<T*, K>& rows,
                                                        F fn) {
  int64_t j0 = 0;
  for (; j0 + kBlock <= H; j0 += kBlock) one_block<Out, Skip>(j0, kBlock * sizeof(T), rows, fn);
  if (j0 < H) one_block<Out, Skip>(j0, static_cast<size_t>(H - j0) * sizeof(T), rows, fn);
}
template <unsigned Out, typename T, size_t K, typename F>
inline __attribute__((always_inline)) void blocked(int64_t H, const std::array<T*, K>& rows, F fn) {
  blocked_skip<Out, 0, T, K>(H, rows, fn);
}
template <typename T>
T* in(const T* p) { return const_cast<T*>(p); }  // read only: its bit of Out is 0

// Forward: g holds the x part of the pre-activations (x W_ih^T, one GEMM for
// every step), rec the recurrent part h' W_hh^T of this row's units (gate k
// at rec + k * rs, a buffer the step's GEMM just wrote), bias the biases
// (gate k at bias + k * H); their sum goes through the activations into g.
// The biases are added here rather than written into every row before the
// input GEMM (an 8 MB fill per layer at T = 32, N = 64, H = 256). Arrays that
// are outputs only are not loaded (Skip).
constexpr unsigned kLstmOut = 0b110000000001111u;  // g (4), c, m
template <typename T>
KN_SIMD_CLONES void lstm_row_forward(int64_t n, int64_t H, T* g, const T* rec, int64_t rs,
                                     const T* bias, const T* cp, T* c, T* m) {
  // 0..3 i f g o (in place), 4..7 their recurrent parts, 8..11 biases, 12 c', 13 c, 14 m
  blocked_skip<kLstmOut, 0b110000000000000u, T, 15>(
      n, {g, g + H, g + 2 * H, g + 3 * H, in(rec), in(rec + rs), in(rec + 2 * rs), in(rec + 3 * rs),
          in(bias), in(bias + H), in(bias + 2 * H), in(bias + 3 * H), in(cp), c, m},
      [](T (&a)[15][kBlock], int64_t j) {
        for (int k = 0; k < 4; ++k) a[k][j] += a[4 + k][j] + a[8 + k][j];
        rnn::lstm_forward(a[0][j], a[1][j], a[2][j], a[3][j], a[12][j], a[13][j], a[14][j]);
      });
}
// GRU: the x parts get b_i; the h parts gh = rech + b_h are kept (the backward needs hn).
constexpr unsigned kGruOut = 0b10000000000111111u;  // g (3), gh (3), h
template <typename T>
KN_SIMD_CLONES void gru_row_forward(int64_t n, int64_t H, T* g, T* gh, const T* rech, int64_t rs,
                                    const T* bias_x, const T* bias_h, const T* hp, T* h) {
  // 0..2 r z n (in place), 3..5 h parts (out), 6..8 recurrent parts, 9..11 b_i,
  // 12..14 b_h, 15 h', 16 h
  blocked_skip<kGruOut, 0b10000000000111000u, T, 17>(
      n, {g, g + H, g + 2 * H, gh, gh + H, gh + 2 * H, in(rech), in(rech + rs), in(rech + 2 * rs),
          in(bias_x), in(bias_x + H), in(bias_x + 2 * H), in(bias_h), in(bias_h + H),
          in(bias_h + 2 * H), in(hp), h},
      [](T (&a)[17][kBlock], int64_t j) {
        for (int k = 0; k < 3; ++k) a[k][j] += a[9 + k][j], a[3 + k][j] = a[6 + k][j] + a[12 + k][j];
        rnn::gru_forward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[15][j], a[16][j]);
      });
}
template <typename T>
KN_SIMD_CLONES void rnn_row_forward(int64_t n, T* g, const T* rec, const T* bias, T* h,
                                    bool tanh_mode) {
  if (tanh_mode)
    blocked_skip<0b1001u, 0b1000u, T, 4>(
        n, {g, in(rec), in(bias), h}, [](T (&a)[4][kBlock], int64_t j) {
          a[0][j] = a[3][j] = rnn::rnn_forward(a[0][j] + a[1][j] + a[2][j], true);
        });
  else
    blocked_skip<0b1001u, 0b1000u, T, 4>(
        n, {g, in(rec), in(bias), h}, [](T (&a)[4][kBlock], int64_t j) {
          a[0][j] = a[3][j] = rnn::rnn_forward(a[0][j] + a[1][j] + a[2][j], false);
        });
}
// dm: the gradient of m (dh, or W_hr^T dh with a projection); dc in/out.
template <typename T>
KN_SIMD_CLONES void lstm_row_backward(int64_t n, int64_t H, const T* g, const T* cp, const T* dm,
                                      T* dc, T* dg) {
  // 0..3 i f g o, 4 c', 5 dm, 6 dc (in/out), 7..10 di df dg do
  blocked<0b11111000000u, T, 11>(
      n, {in(g), in(g + H), in(g + 2 * H), in(g + 3 * H), in(cp), in(dm), dc, dg, dg + H,
          dg + 2 * H, dg + 3 * H},
      [](T (&a)[11][kBlock], int64_t j) {
        rnn::lstm_backward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j],
                           a[8][j], a[9][j], a[10][j], a[6][j]);
      });
}
// dh in: the gradient of h; out: its direct part z dh.
template <typename T>
KN_SIMD_CLONES void gru_row_backward(int64_t n, int64_t H, const T* g, const T* gh, const T* hp,
                                     T* dh, T* dg, T* dgh) {
  // 0..2 r z n, 3 hn, 4 h', 5 dh (in/out), 6..8 dr dz dn (x parts), 9..11 (h parts)
  blocked<0b111111100000u, T, 12>(
      n, {in(g), in(g + H), in(g + 2 * H), in(gh + 2 * H), in(hp), dh, dg, dg + H, dg + 2 * H,
          dgh, dgh + H, dgh + 2 * H},
      [](T (&a)[12][kBlock], int64_t j) {
        rnn::gru_backward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j],
                          a[8][j], a[11][j], a[5][j]);
        a[9][j] = a[6][j], a[10][j] = a[7][j];
      });
}
template <typename T>
KN_SIMD_CLONES void rnn_row_backward(int64_t n, const T* h, const T* dh, T* dg, bool tanh_mode) {
  if (tanh_mode)
    blocked<0b100u, T, 3>(n, {in(h), in(dh), dg}, [](T (&a)[3][kBlock], int64_t j) {
      a[2][j] = rnn::rnn_backward(a[1][j], a[0][j], true);
    });
  else
    blocked<0b100u, T, 3>(n, {in(h), in(dh), dg}, [](T (&a)[3][kBlock], int64_t j) {
      a[2][j] = rnn::rnn_backward(a[1][j], a[0][j], false);
    });
}

// Grow-only buffers of the calling thread, by slot. A multi-megabyte block
// allocated per call comes back from the kernel as fresh pages (glibc maps
// and unmaps large blocks): an LSTM training step at the demo's shapes
// (T 20, N 128, H 128, 2 layers) paid ~4,900 page faults and took 35 ms
// against torch's 21 ms (0 faults) until the big buffers were kept here.
template <typename V>
V& pooled(int slot) {
  thread_local std::array<V, 16> pool;
  return pool[static_cast<size_t>(slot)];
}
enum Slot { kSlotWhh, kSlotWhr, kSlotWorkspace, kSlotRows, kSlotDx, kSlotRec };
constexpr int kPackSlot = 8;  // + a weight's slot: its PackedB's storage (float buffers)

// n elements of slot's buffer (contents undefined).
template <typename T>
T* scratch(int slot, int64_t n) {
  std::vector<T>& v = pooled<std::vector<T>>(slot);
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// A weight multiplied at every step (W_hh^T forward, W_hh backward, W_hr):
// c = a w[:, col0 : col0 + c.cols] + beta c, on the calling thread (each
// thread of a StepTeam multiplies its own columns). float32 on an AVX-512
// CPU packs w ONCE for the whole sequence (gemm_ladder::PackedB) instead of
// once per step as a GEMM call does: the T=32, N=64, H=256 LSTM step
// (64 x 256 x 1024) ran at 152 instead of 109 GFLOP/s on one thread, 268
// instead of 235 on two (Intel Xeon, interleaved).
template <typename T>
class StepWeight {
 public:
  // w itself, or (with `columns`) the matrix of w's columns in that order: a
  // dense copy, so that the columns a thread needs are one contiguous range.
  // slot: which of the calling thread's pooled buffers hold the copy and the packing.
  StepWeight(MatrixView<const T> w, Slot slot, const std::vector<int64_t>* columns = nullptr)
      : w_(w), slot_(slot) {
    if (columns) {
      copy_ = std::move(pooled<std::vector<T>>(slot));
      copy_.resize(static_cast<size_t>(w.rows * static_cast<int64_t>(columns->size())));
      const int64_t n = static_cast<int64_t>(columns->size());
      for (int64_t r = 0; r < w.rows; ++r)
        for (int64_t j = 0; j < n; ++j) copy_[r * n + j] = w.at(r, (*columns)[j]);
      w_ = {copy_.data(), w.rows, n, n, 1};
    }
    if constexpr (std::is_same_v<T, float>)
      if (gemm_ladder::uses_avx512() && w_.rows > 0 && w_.cols > 0)
        packed_.emplace(w_, std::move(pooled<std::vector<float>>(kPackSlot + slot)));
  }
  ~StepWeight() {
    if (!copy_.empty()) pooled<std::vector<T>>(slot_) = std::move(copy_);
    if (packed_) pooled<std::vector<float>>(kPackSlot + slot_) = packed_->take_storage();
  }
  StepWeight(const StepWeight&) = delete;
  StepWeight& operator=(const StepWeight&) = delete;
  void apply(MatrixView<const T> a, int64_t col0, MatrixView<T> c, T beta) const {
    if constexpr (std::is_same_v<T, float>) {
      if (packed_ && col0 % gemm_ladder::kPanelCols == 0) {
        gemm_ladder::packed_gemm(a, *packed_, col0, c, 1.f, beta, 1);
        return;
      }
    }
    blas::gemm<T>(a, {w_.data + col0 * w_.col_stride, w_.rows, c.cols, w_.row_stride, w_.col_stride},
                  c, T(1), beta, 1);
  }

 private:
  MatrixView<const T> w_;
  Slot slot_;
  std::vector<T> copy_;
  std::optional<gemm_ladder::PackedB> packed_;
};

// The threads of a sequence's steps: ONE OpenMP team for the whole sequence,
// not a fork and a join per GEMM and per gate kernel (two per step: their
// waits were ~8% of an LSTM layer on 2 threads). Thread t owns hidden units
// [unit(t), unit(t + 1)) in blocks of kPanelCols (so its gate columns start on a
// PackedB panel) and the same share of the state's columns; it multiplies and
// activates its own units, and the threads meet at a barrier where a step
// needs every unit of the previous one. A step of under 2^20 multiply-adds
// runs on one thread (the measured rule of kernels/internal/matmul.hpp).
class StepTeam {
 public:
  StepTeam(int threads, int64_t H, int64_t step_work) {
    const int64_t blocks = (H + gemm_ladder::kPanelCols - 1) / gemm_ladder::kPanelCols;
    nt_ = step_work < (int64_t(1) << 20) ? 1 : static_cast<int>(std::min<int64_t>(threads, blocks));
    nt_ = std::max(nt_, 1);
  }
  // The planned number of workers (shares of the units). OpenMP may start
  // fewer threads than asked: thread t of nt then runs workers t, t + nt, ...
  // body(t, nt, team) on every thread; exceptions are caught per thread (a
  // throwing thread still meets every barrier) and the first is rethrown.
  template <typename Body>
  void run(Body&& body) {
    auto guarded = [&](int t, int n) {
      try {
        body(t, n);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    };
#ifdef _OPENMP
    if (nt_ > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(nt_)
      guarded(omp_get_thread_num(), omp_get_num_threads());
    } else {
      guarded(0, 1);
    }
#else
    guarded(0, 1);
#endif
    if (error_) std::rethrow_exception(error_);
  }
  int workers() const { return nt_; }
  static void barrier(int nt) {
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp barrier
    }
#endif
    (void)nt;
  }
  // [share(total, t, nt), share(total, t + 1, nt)): thread t's columns of `total`.
  static int64_t share(int64_t total, int t, int nt) {
    const int64_t blocks = (total + gemm_ladder::kPanelCols - 1) / gemm_ladder::kPanelCols;
    return std::min(total, blocks * t / nt * gemm_ladder::kPanelCols);
  }

 private:
  int nt_;
  std::mutex mutex_;
  std::exception_ptr error_;
};

// dst[j] = src[j * stride] (src may be null: zeros), n elements.
template <typename T>
void load_row(T* dst, const T* src, int64_t stride, int64_t n) {
  if (!src) {
    std::fill(dst, dst + n, T(0));
    return;
  }
  for (int64_t j = 0; j < n; ++j) dst[j] = src[j * stride];
}
template <typename T>
void store_row(const MatrixView<T>& m, int64_t r, const T* src) {
  T* d = m.data + r * m.row_stride;
  for (int64_t j = 0; j < m.cols; ++j) d[j * m.col_stride] = src[j];
}
// m(r, c0 + j) = src[j], j < n.
template <typename T>
void store_cols(const MatrixView<T>& m, int64_t r, int64_t c0, int64_t n, const T* src) {
  T* d = m.data + r * m.row_stride + c0 * m.col_stride;
  for (int64_t j = 0; j < n; ++j) d[j * m.col_stride] = src[j];
}
// dst[j] = m(r, c0 + j), j < n (m.data null: zeros).
template <typename T>
void load_cols(T* dst, const MatrixView<const T>& m, int64_t r, int64_t c0, int64_t n) {
  if (!m.data) {
    std::fill(dst, dst + n, T(0));
    return;
  }
  const T* s = m.data + r * m.row_stride + c0 * m.col_stride;
  for (int64_t j = 0; j < n; ++j) dst[j] = s[j * m.col_stride];
}

template <typename T>
const T* row_ptr(const kn_tensor* t, int64_t r) {
  return t ? data_as<const T>(*t) + r * t->strides[0] : nullptr;
}
template <typename T>
MatrixView<T> matrix_or_empty(const kn_tensor* t) {
  return t ? as_matrix<T>(*t) : MatrixView<T>{nullptr, 0, 0, 0, 0};
}

// All rows of a sequence tensor (x) as one matrix: the tensor itself when its
// rows merge, else a contiguous copy in `copy` (a batch-first x, the (T, N, I)
// transpose of an (N, T, I) array, does not merge: one GEMM over the copy
// beat one GEMM per step, whose small products ran at a fraction of the
// big one's speed: the language-id demo's first layer, 128 x 32 x 512 per step).
template <typename T>
MatrixView<const T> rows_of(const RnnLayout& L, const kn_tensor& s) {
  MatrixView<const T> m;
  if (L.all_rows(s, m)) return m;
  const int64_t F = s.shape[s.ndim - 1];
  T* copy = scratch<T>(kSlotRows, L.rows * F);
  for (int64_t t = 0; t < L.T; ++t) {
    const MatrixView<const T> st = L.step_rows<const T>(s, t);
    for (int64_t n = 0; n < st.rows; ++n) load_cols(copy + (L.offset[t] + n) * F, st, n, 0, F);
  }
  return {copy, L.rows, F, F, 1};
}

template <typename T>
void forward(const RnnLayout& L, const kn_tensor& x, const kn_tensor* h0, const kn_tensor* c0,
             const kn_tensor& w_ih, const kn_tensor& w_hh, const kn_tensor* b_ih,
             const kn_tensor* b_hh, const kn_tensor* w_hr, const kn_tensor& y,
             const kn_tensor* h_n, const kn_tensor* c_n, const kn_tensor& reserve, int threads) {
  const int64_t H = L.H, Hout = L.Hout, GH = L.GH(), ld = L.res.cols;
  const bool gru = L.mode == KN_GRU, lstm = L.mode == KN_LSTM, proj = L.P > 0;
  T* R = data_as<T>(reserve);
  const MatrixView<const T> Wih = as_matrix<const T>(w_ih), Whh = as_matrix<const T>(w_hh);

  if (L.T == 0) {  // no step: the state passes through
    // (N may be huge when h_n and c_n are NULL: then nothing to do.)
    for (int64_t n = 0; (h_n || c_n) && n < L.N; ++n) {
      if (h_n) {
        std::vector<T> row(Hout);
        load_row(row.data(), row_ptr<T>(h0, n), h0 ? h0->strides[1] : 0, Hout);
        store_row(as_matrix<T>(*h_n), n, row.data());
      }
      if (c_n) {
        std::vector<T> row(H);
        load_row(row.data(), row_ptr<T>(c0, n), c0 ? c0->strides[1] : 0, H);
        store_row(as_matrix<T>(*c_n), n, row.data());
      }
    }
    return;
  }

  // The biases, added by the gate kernels: b_ih (+ b_hh, folded in except
  // for GRU, whose b_hh goes with the h parts: r (W_hn h + b_hn)).
  std::vector<T> bias_x(GH), bias_h(gru ? GH : 0);  // zeros without biases
  for (int64_t j = 0; j < GH; ++j) {
    const T bi = b_ih ? data_as<const T>(*b_ih)[j * b_ih->strides[0]] : T(0);
    const T bh = b_hh ? data_as<const T>(*b_hh)[j * b_hh->strides[0]] : T(0);
    if (gru)
      bias_x[j] = bi, bias_h[j] = bh;
    else
      bias_x[j] = bi + bh;
  }
  // Every step's input projection: one GEMM into the reserve's gate columns.
  gemm_parallel<T>(rows_of<T>(L, x), Wih.t(), RnnLayout::block(R, ld, 0, L.rows, L.res.gates, GH),
                   T(1), T(0), threads);

  const MatrixView<T> Hn = matrix_or_empty<T>(h_n), Cn = matrix_or_empty<T>(c_n);
  const MatrixView<const T> H0 = matrix_or_empty<const T>(h0), C0 = matrix_or_empty<const T>(c0);
  StepTeam team(threads, H, L.N * GH * std::max<int64_t>(Hout, 1));
  const int V = team.workers();
  // W_hh^T with each worker's gate columns together (its units of gate 0,
  // then of gate 1, ...): per worker and step one GEMM, h' W_hh^T, into its
  // `rec` buffer.
  std::vector<int64_t> columns;
  for (int v = 0; v < V; ++v)
    for (int64_t g = 0; g < L.G; ++g)
      for (int64_t u = StepTeam::share(H, v, V); u < StepTeam::share(H, v + 1, V); ++u)
        columns.push_back(g * H + u);
  const StepWeight<T> whh_t(Whh.t(), kSlotWhh, &columns);
  std::optional<StepWeight<T>> whr_t;
  if (proj) whr_t.emplace(as_matrix<const T>(*w_hr).t(), kSlotWhr);
  team.run([&](const int th, const int nt) {
    // rec: (b, G nu) for the worker's units; N x G H bounds every worker's.
    // The team's threads keep theirs (pooled per thread).
    T* const rec = scratch<T>(kSlotRec, std::max<int64_t>(1, L.N * GH));
    std::vector<T> hbuf(static_cast<size_t>(std::max<int64_t>(H, 1))), cbuf(hbuf.size()),
        pbuf(static_cast<size_t>(std::max<int64_t>(Hout, 1)));
    for (int64_t k = 0; k < L.T; ++k) {
      const int64_t t = L.step(k), b = L.batch[t], r0 = L.offset[t];
      const int64_t before = L.batch_before(k), after = L.batch_after(k);
      T* next = after > 0 ? R + L.offset[L.step(k + 1)] * ld : nullptr;  // next step's row 0
      const MatrixView<T> Yt = L.step_rows<T>(y, t);
      // Rows that start at this step (all of them at the first step; more at
      // later steps of a packed reverse direction) start from h0, c0.
      if (b > before) {
        for (int v = th; v < V; v += nt) {
          const int64_t o0 = StepTeam::share(Hout, v, V), o1 = StepTeam::share(Hout, v + 1, V);
          const int64_t u0 = StepTeam::share(H, v, V), u1 = StepTeam::share(H, v + 1, V);
          for (int64_t n = before; n < b; ++n) {
            T* row = R + (r0 + n) * ld;
            load_cols(row + L.res.h_prev + o0, H0, n, o0, o1 - o0);
            if (lstm) load_cols(row + L.res.c_prev + u0, C0, n, u0, u1 - u0);
          }
        }
        StepTeam::barrier(nt);  // the GEMM reads every column of h'
      }
      const MatrixView<const T> Hp = RnnLayout::block<const T>(R, ld, r0, b, L.res.h_prev, Hout);
      for (int v = th; v < V; v += nt) {  // this thread's workers: their units [u0, u1)
        const int64_t u0 = StepTeam::share(H, v, V), nu = StepTeam::share(H, v + 1, V) - u0;
        if (nu == 0) continue;
        // rec = h' W_hh^T for the worker's gate columns (gate k at rec + k nu).
        const int64_t rs = L.G * nu;
        whh_t.apply(Hp, L.G * u0, {rec, b, rs, rs, 1}, T(0));
        // The fused gate kernel on the worker's units.
        for (int64_t n = 0; n < b; ++n) {
          T* row = R + (r0 + n) * ld;
          T* nrow = n < after ? next + n * ld : nullptr;
          // Where h (or m) and c go: straight into the next step's h'/c' when
          // this row goes on; a buffer for rows ending here.
          T* h = proj ? row + L.res.m + u0 : nrow ? nrow + L.res.h_prev + u0 : hbuf.data();
          T* c = nrow && lstm ? nrow + L.res.c_prev + u0 : cbuf.data();
          T* g = row + L.res.gates + u0;
          const T* rn = rec + n * rs;
          if (lstm)
            lstm_row_forward(nu, H, g, rn, nu, bias_x.data() + u0, row + L.res.c_prev + u0, c, h);
          else if (gru)
            gru_row_forward(nu, H, g, row + L.res.gates_h + u0, rn, nu,
                            bias_x.data() + u0, bias_h.data() + u0, row + L.res.h_prev + u0, h);
          else
            rnn_row_forward(nu, g, rn, bias_x.data() + u0, h, L.mode == KN_RNN_TANH);
          if (!proj) {
            store_cols(Yt, n, u0, nu, h);
            if (!nrow && h_n) store_cols(Hn, n, u0, nu, h);
          }
          if (lstm && !nrow && c_n) store_cols(Cn, n, u0, nu, c);
        }
      }
      if (proj) {  // h = m W_hr^T (every unit of m): each worker's P columns of y
        StepTeam::barrier(nt);
        for (int v = th; v < V; v += nt) {
          const int64_t o0 = StepTeam::share(Hout, v, V), no = StepTeam::share(Hout, v + 1, V) - o0;
          if (no == 0) continue;
          whr_t->apply(RnnLayout::block<const T>(R, ld, r0, b, L.res.m, H), o0,
                       {Yt.data + o0 * Yt.col_stride, b, no, Yt.row_stride, Yt.col_stride}, T(0));
          for (int64_t n = 0; n < b; ++n) {
            load_cols(pbuf.data(), MatrixView<const T>{Yt.data, b, Hout, Yt.row_stride, Yt.col_stride},
                      n, o0, no);
            if (n < after)
              std::memcpy(next + n * ld + L.res.h_prev + o0, pbuf.data(), sizeof(T) * no);
            else if (h_n)
              store_cols(Hn, n, o0, no, pbuf.data());
          }
        }
      }
      StepTeam::barrier(nt);  // the next step reads every column of h'
    }
  });
}

template <typename T>
void backward(const RnnLayout& L, const kn_tensor* x, const kn_tensor* w_ih, const kn_tensor& w_hh,
              const kn_tensor* w_hr, const kn_tensor& reserve, const kn_tensor* dy,
              const kn_tensor* dh_n, const kn_tensor* dc_n, const kn_tensor* dx,
              const kn_tensor* dh0, const kn_tensor* dc0, const kn_tensor* dw_ih,
              const kn_tensor* dw_hh, const kn_tensor* db_ih, const kn_tensor* db_hh,
              const kn_tensor* dw_hr, int threads) {
  const int64_t H = L.H, Hout = L.Hout, P = L.P, GH = L.GH(), ld = L.res.cols;
  const bool gru = L.mode == KN_GRU, lstm = L.mode == KN_LSTM, proj = P > 0;
  const T* R = data_as<const T>(reserve);
  if (L.T == 0) {  // no step: dh0 = dh_n, dc0 = dc_n, the weight gradients 0 (no scratch:
    // N may be huge when every (N, .) tensor is NULL)
    std::vector<T> row(static_cast<size_t>(std::max(H, Hout)));
    for (int64_t n = 0; (dh0 || dc0) && n < L.N; ++n) {
      if (dh0) {
        load_row(row.data(), row_ptr<T>(dh_n, n), dh_n ? dh_n->strides[1] : 0, Hout);
        store_row(as_matrix<T>(*dh0), n, row.data());
      }
      if (dc0) {
        load_row(row.data(), row_ptr<T>(dc_n, n), dc_n ? dc_n->strides[1] : 0, H);
        store_row(as_matrix<T>(*dc0), n, row.data());
      }
    }
    for (const kn_tensor* w : {dw_ih, dw_hh, dw_hr}) {
      if (!w) continue;
      const MatrixView<T> m = as_matrix<T>(*w);
      for (int64_t r = 0; r < m.rows; ++r)
        for (int64_t j = 0; j < m.cols; ++j) m.data[r * m.row_stride + j * m.col_stride] = T(0);
    }
    for (const kn_tensor* b : {db_ih, db_hh})
      if (b)
        for (int64_t j = 0; j < GH; ++j) data_as<T>(*b)[j * b->strides[0]] = T(0);
    return;
  }
  const RnnWorkspace W = rnn_workspace(L.mode, H, P, L.rows, L.N);
  // Uninitialised scratch (every element read is written first).
  T* const ws = scratch<T>(kSlotWorkspace, W.elements);
  T* dG = ws + W.dgates;
  T* dGh = gru ? ws + W.dgates_h : dG;  // LSTM/RNN: the same gradients
  T* dH = ws + W.dh;
  T* dC = lstm ? ws + W.dc : nullptr;
  T* dM = proj ? ws + W.dm : nullptr;
  T* dHall = proj ? ws + W.dh_all : nullptr;

  const StepWeight<T> whh(as_matrix<const T>(w_hh), kSlotWhh);
  std::optional<StepWeight<T>> whr;
  if (proj) whr.emplace(as_matrix<const T>(*w_hr), kSlotWhr);
  const MatrixView<const T> DHn = matrix_or_empty<const T>(dh_n), DCn = matrix_or_empty<const T>(dc_n);
  StepTeam team(threads, H, L.N * GH * std::max<int64_t>(Hout, 1));
  team.run([&](const int th, const int nt) {
    const int64_t u0 = StepTeam::share(H, th, nt), u1 = StepTeam::share(H, th + 1, nt);
    const int64_t o0 = StepTeam::share(Hout, th, nt), o1 = StepTeam::share(Hout, th + 1, nt);
    const int64_t nu = u1 - u0, no = o1 - o0;
    for (int64_t n = 0; n < L.N; ++n) {
      load_cols(dH + n * Hout + o0, DHn, n, o0, no);
      if (lstm) load_cols(dC + n * H + u0, DCn, n, u0, nu);
    }
    for (int64_t k = L.T - 1; k >= 0; --k) {
      const int64_t t = L.step(k), b = L.batch[t], r0 = L.offset[t];
      if (dy) {  // dh[:b] += dy[t], this thread's columns
        const MatrixView<const T> DYt = L.step_rows<const T>(*dy, t);
        for (int64_t n = 0; n < b; ++n) {
          T* d = dH + n * Hout;
          const T* s = DYt.data + n * DYt.row_stride;
          for (int64_t j = o0; j < o1; ++j) d[j] += s[j * DYt.col_stride];
        }
      }
      if (proj) {  // keep dh for dw_hr; dm = dh W_hr (every column of dh)
        for (int64_t n = 0; n < b; ++n)
          std::memcpy(dHall + (r0 + n) * P + o0, dH + n * P + o0, sizeof(T) * no);
        StepTeam::barrier(nt);
        if (nu > 0)
          whr->apply(RnnLayout::block<const T>(dH, P, 0, b, 0, P), u0,
                     RnnLayout::block(dM, H, 0, b, u0, nu), T(0));
      }
      for (int64_t n = 0; n < b && nu > 0; ++n) {
        const T* row = R + (r0 + n) * ld;
        const T* g = row + L.res.gates + u0;
        T* dg = dG + (r0 + n) * GH + u0;
        T* dh = dH + n * Hout + u0;
        if (lstm)
          lstm_row_backward(nu, H, g, row + L.res.c_prev + u0, proj ? dM + n * H + u0 : dh,
                            dC + n * H + u0, dg);
        else if (gru)
          gru_row_backward(nu, H, g, row + L.res.gates_h + u0, row + L.res.h_prev + u0, dh, dg,
                           dGh + (r0 + n) * GH + u0);
        else
          rnn_row_backward(nu, g, dh, dg, L.mode == KN_RNN_TANH);
      }
      StepTeam::barrier(nt);  // dh' needs every unit's gate gradients
      // dh' = dgates_h W_hh (+ GRU's direct z dh, already in dh): this thread's
      // columns, which are the units its next gate kernel reads (no barrier).
      if (no > 0)
        whh.apply(RnnLayout::block<const T>(dGh, GH, r0, b, 0, GH), o0,
                  RnnLayout::block(dH, Hout, 0, b, o0, no), gru ? T(1) : T(0));
    }
    // After the first step every row's dh, dc is that of its initial state.
    for (int64_t n = 0; n < L.N; ++n) {
      if (dh0) store_cols(as_matrix<T>(*dh0), n, o0, no, dH + n * Hout + o0);
      if (dc0) store_cols(as_matrix<T>(*dc0), n, u0, nu, dC + n * H + u0);
    }
  });

  // The products over all rows.
  const MatrixView<const T> DG = RnnLayout::block<const T>(dG, GH, 0, L.rows, 0, GH);
  const MatrixView<const T> DGh = RnnLayout::block<const T>(dGh, GH, 0, L.rows, 0, GH);
  if (dx) {  // dx = dgates W_ih, through a contiguous buffer when dx's rows do not merge
    MatrixView<T> DX;
    if (L.all_rows(*dx, DX)) {
      gemm_parallel<T>(DG, as_matrix<const T>(*w_ih), DX, T(1), T(0), threads);
    } else {
      const int64_t I = dx->shape[dx->ndim - 1];
      T* buf = scratch<T>(kSlotDx, L.rows * I);
      gemm_parallel<T>(DG, as_matrix<const T>(*w_ih), {buf, L.rows, I, I, 1}, T(1), T(0),
                       threads);
      for (int64_t t = 0; t < L.T; ++t) {
        const MatrixView<T> st = L.step_rows<T>(*dx, t);
        for (int64_t n = 0; n < st.rows; ++n) store_cols(st, n, 0, I, buf + (L.offset[t] + n) * I);
      }
    }
  }
  if (dw_ih) {
    gemm_parallel<T>(DG.t(), rows_of<T>(L, *x), as_matrix<T>(*dw_ih), T(1), T(0), threads);
  }
  if (dw_hh)
    gemm_parallel<T>(DGh.t(), RnnLayout::block<const T>(R, ld, 0, L.rows, L.res.h_prev, Hout),
                     as_matrix<T>(*dw_hh), T(1), T(0), threads);
  if (db_ih) column_sum<T>(DG, data_as<T>(*db_ih), db_ih->strides[0], threads);
  if (db_hh && db_ih && !gru) {  // LSTM/RNN: the same sums (one pass over dgates, not two)
    for (int64_t j = 0; j < GH; ++j)
      data_as<T>(*db_hh)[j * db_hh->strides[0]] = data_as<const T>(*db_ih)[j * db_ih->strides[0]];
  } else if (db_hh) {
    column_sum<T>(DGh, data_as<T>(*db_hh), db_hh->strides[0], threads);
  }
  if (dw_hr)
    gemm_parallel<T>(RnnLayout::block<const T>(dHall, P, 0, L.rows, 0, P).t(),
                     RnnLayout::block<const T>(R, ld, 0, L.rows, L.res.m, H), as_matrix<T>(*dw_hr),
                     T(1), T(0), threads);
}

}  // namespace

void rnn_forward(const RnnLayout& L, const kn_tensor& x, const kn_tensor* h0, const kn_tensor* c0,
                 const kn_tensor& w_ih, const kn_tensor& w_hh, const kn_tensor* b_ih,
                 const kn_tensor* b_hh, const kn_tensor* w_hr, const kn_tensor& y,
                 const kn_tensor* h_n, const kn_tensor* c_n, const kn_tensor& reserve,
                 const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_rnn_forward", [&](auto tag) {
    forward<decltype(tag)>(L, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y, h_n, c_n, reserve,
                           ctx.num_threads);
  });
}

void rnn_backward(const RnnLayout& L, const kn_tensor* x, const kn_tensor* w_ih,
                  const kn_tensor& w_hh, const kn_tensor* w_hr, const kn_tensor& reserve,
                  const kn_tensor* dy, const kn_tensor* dh_n, const kn_tensor* dc_n,
                  const kn_tensor* dx, const kn_tensor* dh0, const kn_tensor* dc0,
                  const kn_tensor* dw_ih, const kn_tensor* dw_hh, const kn_tensor* db_ih,
                  const kn_tensor* db_hh, const kn_tensor* dw_hr, const CpuContext& ctx) {
  dispatch_float(w_hh.dtype, "kn_rnn_backward", [&](auto tag) {
    backward<decltype(tag)>(L, x, w_ih, w_hh, w_hr, reserve, dy, dh_n, dc_n, dx, dh0, dc0, dw_ih,
                            dw_hh, db_ih, db_hh, dw_hr, ctx.num_threads);
  });
}

}  // namespace kn::cpu
