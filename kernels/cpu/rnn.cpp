// Recurrent layers (RNN tanh/relu, LSTM with optional projection, GRU) on the
// CPU: one layer, one direction, the whole sequence per call. The maths and
// the tensors are in kernels/rnn.h; the per-element gate formulas in
// kernels/formulas/rnn.hpp; the reserve's columns in kernels/ops/rnn.hpp.
//
// forward (G gates, H hidden, Hout = P or H; b = batch(t) rows at step t):
//   gates(rows, GH)  = b_ih [+ b_hh] + x W_ih^T        one GEMM over all rows
//   per step, in processing order:
//     gates[t] += h'[t] W_hh^T                          (GRU: into gates_h, + b_hh)
//     fused gate kernel: activations in place, c, h (or m, then h = m W_hr^T)
//     h, c -> y[t], the next step's h'/c' rows, h_n/c_n for rows ending here
// backward (steps in the opposite order; dh, dc the running state gradients):
//     dh[:b] += dy[t];  (projection: dm = dh W_hr)
//     fused kernel: dgates[t] (GRU: and dgates_h[t]), dc[:b], GRU's z dh
//     dh[:b] = dgates_h[t] W_hh (+ z dh for GRU)
//   then, each ONE product over all rows:
//     dx = dgates W_ih;  dw_ih = dgates^T x;  dw_hh = dgates_h^T h';
//     db_ih, db_hh = column sums;  dw_hr = dh_all^T m
// Threads: GEMMs through kn::gemm_parallel; the fused kernels split the rows,
// each row computed whole by one thread (so results do not depend on the
// thread count), by row functions compiled for AVX-512 / AVX2 / baseline
// (KN_SIMD_CLONES) under elementwise.hpp's no-trapping-math, which lets GCC
// vectorise the formulas' selects: without them the LSTM gates of a
// T=32, N=64, H=256 layer took 38 ms of its 63 ms forward (1 thread, Intel Xeon).
#include "kernels/internal/elementwise.hpp"  // first: its pragma covers this file

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/formulas/rnn.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/gemm_ladder.hpp"
#include "kernels/internal/matmul.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/rnn.hpp"

namespace kn::cpu {
namespace {

// Rows per thread chunk of a fused gate kernel: about 8k gate elements, so a
// small layer (the tests' H = 3) stays on one thread.
int64_t row_grain(const RnnLayout& L) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, L.GH())); }

// The fused gate kernels, one row (H units) per call, on local blocks of
// kBlock units as elementwise.hpp's loops do: each array's block is copied
// into a local array, computed there, and the outputs (bit k of Out) copied
// back. Local arrays let GCC vectorise (the gates of one row are one array at
// offsets 0, H, 2H, 3H, which it cannot prove apart), and the zero-padded last
// block leaves no scalar remainder.
template <unsigned Out, typename T, size_t K, typename F>
inline __attribute__((always_inline)) void one_block(int64_t j0, size_t bytes,
                                                     const std::array<T*, K>& rows, F& fn) {
  T a[K][kBlock];
  if (bytes < sizeof a[0]) std::memset(a, 0, sizeof a);  // the zero-padded last block
  for (size_t k = 0; k < K; ++k) std::memcpy(a[k], rows[k] + j0, bytes);
  for (int64_t j = 0; j < kBlock; ++j) fn(a, j);
  for (size_t k = 0; k < K; ++k)
    if (Out & (1u << k)) std::memcpy(rows[k] + j0, a[k], bytes);
}
// (Full blocks copy a constant size, which compiles to vector moves; a variable
// size became `rep movs`, which cost more than the gate maths.)
template <unsigned Out, typename T, size_t K, typename F>
inline __attribute__((always_inline)) void blocked(int64_t H, const std::array<T*, K>& rows, F fn) {
  int64_t j0 = 0;
  for (; j0 + kBlock <= H; j0 += kBlock) one_block<Out>(j0, kBlock * sizeof(T), rows, fn);
  if (j0 < H) one_block<Out>(j0, static_cast<size_t>(H - j0) * sizeof(T), rows, fn);
}
template <typename T>
T* in(const T* p) { return const_cast<T*>(p); }  // read only: its bit of Out is 0

template <typename T>
KN_SIMD_CLONES void lstm_row_forward(int64_t H, T* g, const T* cp, T* c, T* m) {
  // 0..3 i f g o (in place), 4 c', 5 c, 6 m
  blocked<0b1101111u, T, 7>(H, {g, g + H, g + 2 * H, g + 3 * H, in(cp), c, m},
                            [](T (&a)[7][kBlock], int64_t j) {
                              rnn::lstm_forward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j],
                                                a[5][j], a[6][j]);
                            });
}
template <typename T>
KN_SIMD_CLONES void gru_row_forward(int64_t H, T* g, const T* gh, const T* hp, T* h) {
  // 0..2 r z n (in place), 3..5 the h parts, 6 h', 7 h
  blocked<0b10000111u, T, 8>(
      H, {g, g + H, g + 2 * H, in(gh), in(gh + H), in(gh + 2 * H), in(hp), h},
      [](T (&a)[8][kBlock], int64_t j) {
        rnn::gru_forward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j]);
      });
}
template <typename T>
KN_SIMD_CLONES void rnn_row_forward(int64_t H, T* g, T* h, bool tanh_mode) {
  if (tanh_mode)
    blocked<0b11u, T, 2>(H, {g, h}, [](T (&a)[2][kBlock], int64_t j) {
      a[0][j] = a[1][j] = rnn::rnn_forward(a[0][j], true);
    });
  else
    blocked<0b11u, T, 2>(H, {g, h}, [](T (&a)[2][kBlock], int64_t j) {
      a[0][j] = a[1][j] = rnn::rnn_forward(a[0][j], false);
    });
}
// dm: the gradient of m (dh, or W_hr^T dh with a projection); dc in/out.
template <typename T>
KN_SIMD_CLONES void lstm_row_backward(int64_t H, const T* g, const T* cp, const T* dm, T* dc,
                                      T* dg) {
  // 0..3 i f g o, 4 c', 5 dm, 6 dc (in/out), 7..10 di df dg do
  blocked<0b11111000000u, T, 11>(
      H, {in(g), in(g + H), in(g + 2 * H), in(g + 3 * H), in(cp), in(dm), dc, dg, dg + H,
          dg + 2 * H, dg + 3 * H},
      [](T (&a)[11][kBlock], int64_t j) {
        rnn::lstm_backward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j],
                           a[8][j], a[9][j], a[10][j], a[6][j]);
      });
}
// dh in: the gradient of h; out: its direct part z dh.
template <typename T>
KN_SIMD_CLONES void gru_row_backward(int64_t H, const T* g, const T* gh, const T* hp, T* dh,
                                     T* dg, T* dgh) {
  // 0..2 r z n, 3 hn, 4 h', 5 dh (in/out), 6..8 dr dz dn (x parts), 9..11 (h parts)
  blocked<0b111111100000u, T, 12>(
      H, {in(g), in(g + H), in(g + 2 * H), in(gh + 2 * H), in(hp), dh, dg, dg + H, dg + 2 * H,
          dgh, dgh + H, dgh + 2 * H},
      [](T (&a)[12][kBlock], int64_t j) {
        rnn::gru_backward(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j],
                          a[8][j], a[11][j], a[5][j]);
        a[9][j] = a[6][j], a[10][j] = a[7][j];
      });
}
template <typename T>
KN_SIMD_CLONES void rnn_row_backward(int64_t H, const T* h, const T* dh, T* dg, bool tanh_mode) {
  if (tanh_mode)
    blocked<0b100u, T, 3>(H, {in(h), in(dh), dg}, [](T (&a)[3][kBlock], int64_t j) {
      a[2][j] = rnn::rnn_backward(a[1][j], a[0][j], true);
    });
  else
    blocked<0b100u, T, 3>(H, {in(h), in(dh), dg}, [](T (&a)[3][kBlock], int64_t j) {
      a[2][j] = rnn::rnn_backward(a[1][j], a[0][j], false);
    });
}

// A weight multiplied at every step (W_hh^T forward, W_hh backward, W_hr):
// c = a w + beta c. float32 on an AVX-512 CPU packs w ONCE for the whole
// sequence (gemm_ladder::PackedB) instead of once per step, as every GEMM
// call does: for the T=32, N=64, H=256 LSTM step (64 x 256 x 1024) the
// packing of w was about a quarter of the step. Otherwise gemm_parallel.
template <typename T>
class StepWeight {
 public:
  StepWeight(MatrixView<const T> w, int threads) : w_(w), threads_(threads) {
    if constexpr (std::is_same_v<T, float>)
      if (gemm_ladder::uses_avx512() && w.rows > 0 && w.cols > 0) packed_.emplace(w);
  }
  void apply(MatrixView<const T> a, MatrixView<T> c, T beta) const {
    if constexpr (std::is_same_v<T, float>) {
      if (packed_) {
        // Threads as gemm_parallel decides them: below 2^20 multiply-adds one.
        const int64_t work = c.rows * c.cols * std::max<int64_t>(1, a.cols);
        gemm_ladder::packed_gemm(a, *packed_, c, 1.f, beta, work < (int64_t(1) << 20) ? 1 : threads_);
        return;
      }
    }
    gemm_parallel<T>(a, w_, c, T(1), beta, threads_);
  }

 private:
  MatrixView<const T> w_;
  int threads_;
  std::optional<gemm_ladder::PackedB> packed_;
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
template <typename T>
const T* row_ptr(const kn_tensor* t, int64_t r) {
  return t ? data_as<const T>(*t) + r * t->strides[0] : nullptr;
}
template <typename T>
MatrixView<T> matrix_or_empty(const kn_tensor* t) {
  return t ? as_matrix<T>(*t) : MatrixView<T>{nullptr, 0, 0, 0, 0};
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

  // 1. The biases into every row: gates = b_ih (+ b_hh, folded in except for
  //    GRU, whose b_hh goes with the h parts: r (W_hn h + b_hn)).
  std::vector<T> bias_x(GH), bias_h(gru ? GH : 0);
  for (int64_t j = 0; j < GH; ++j) {
    const T bi = b_ih ? data_as<const T>(*b_ih)[j * b_ih->strides[0]] : T(0);
    const T bh = b_hh ? data_as<const T>(*b_hh)[j * b_hh->strides[0]] : T(0);
    if (gru)
      bias_x[j] = bi, bias_h[j] = bh;
    else
      bias_x[j] = bi + bh;
  }
  parallel_for(L.rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, GH)), threads,
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   std::memcpy(R + r * ld + L.res.gates, bias_x.data(), sizeof(T) * GH);
                   if (gru) std::memcpy(R + r * ld + L.res.gates_h, bias_h.data(), sizeof(T) * GH);
                 }
               });
  // 2. Every step's input projection: one GEMM when x's rows merge.
  MatrixView<const T> X;
  if (L.all_rows(x, X)) {
    gemm_parallel<T>(X, Wih.t(), RnnLayout::block(R, ld, 0, L.rows, L.res.gates, GH), T(1), T(1),
                     threads);
  } else {
    for (int64_t t = 0; t < L.T; ++t)
      gemm_parallel<T>(L.step_rows<const T>(x, t), Wih.t(),
                       RnnLayout::block(R, ld, L.offset[t], L.batch[t], L.res.gates, GH), T(1),
                       T(1), threads);
  }

  const MatrixView<T> Hn = matrix_or_empty<T>(h_n), Cn = matrix_or_empty<T>(c_n);
  const StepWeight<T> whh_t(Whh.t(), threads);
  std::optional<StepWeight<T>> whr_t;
  if (proj) whr_t.emplace(as_matrix<const T>(*w_hr).t(), threads);
  for (int64_t k = 0; k < L.T; ++k) {
    const int64_t t = L.step(k), b = L.batch[t], r0 = L.offset[t];
    const int64_t before = L.batch_before(k), after = L.batch_after(k);
    T* next = after > 0 ? R + L.offset[L.step(k + 1)] * ld : nullptr;  // next step's row 0
    // Rows that start at this step (all of them at the first step; more of
    // them at later steps of a packed reverse direction) start from h0, c0.
    for (int64_t n = before; n < b; ++n) {
      T* row = R + (r0 + n) * ld;
      load_row(row + L.res.h_prev, row_ptr<T>(h0, n), h0 ? h0->strides[1] : 0, Hout);
      if (lstm) load_row(row + L.res.c_prev, row_ptr<T>(c0, n), c0 ? c0->strides[1] : 0, H);
    }
    // The recurrent GEMM.
    whh_t.apply(RnnLayout::block<const T>(R, ld, r0, b, L.res.h_prev, Hout),
                RnnLayout::block(R, ld, r0, b, gru ? L.res.gates_h : L.res.gates, GH), T(1));
    // The fused gate kernel, rows split over threads.
    const MatrixView<T> Yt = L.step_rows<T>(y, t);
    parallel_for(b, row_grain(L), threads, [&](int64_t n0, int64_t n1) {
      std::vector<T> hbuf(H), cbuf(H);
      for (int64_t n = n0; n < n1; ++n) {
        T* row = R + (r0 + n) * ld;
        T* nrow = n < after ? next + n * ld : nullptr;
        // Where h (or m) and c go: straight into the next step's h'/c' when
        // this row goes on; a buffer for rows ending here.
        T* h = proj ? row + L.res.m : nrow ? nrow + L.res.h_prev : hbuf.data();
        T* c = nrow && lstm ? nrow + L.res.c_prev : cbuf.data();
        T* g = row + L.res.gates;
        const T* hp = row + L.res.h_prev;
        if (lstm)
          lstm_row_forward(H, g, row + L.res.c_prev, c, h);
        else if (gru)
          gru_row_forward(H, g, row + L.res.gates_h, hp, h);
        else
          rnn_row_forward(H, g, h, L.mode == KN_RNN_TANH);
        if (!proj) {
          store_row(Yt, n, h);
          if (!nrow && h_n) store_row(Hn, n, h);
        }
        if (lstm && !nrow && c_n) store_row(Cn, n, c);
      }
    });
    if (proj) {  // h = m W_hr^T, into y; then into the next h' or h_n
      whr_t->apply(RnnLayout::block<const T>(R, ld, r0, b, L.res.m, H), Yt, T(0));
      std::vector<T> hrow(Hout);
      for (int64_t n = 0; n < b; ++n) {
        load_row(hrow.data(), Yt.data + n * Yt.row_stride, Yt.col_stride, Hout);
        if (n < after)
          std::memcpy(next + n * ld + L.res.h_prev, hrow.data(), sizeof(T) * Hout);
        else if (h_n)
          store_row(Hn, n, hrow.data());
      }
    }
  }
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
  std::vector<T> ws(static_cast<size_t>(W.elements));
  T* dG = ws.data() + W.dgates;
  T* dGh = gru ? ws.data() + W.dgates_h : dG;  // LSTM/RNN: the same gradients
  T* dH = ws.data() + W.dh;
  T* dC = lstm ? ws.data() + W.dc : nullptr;
  T* dM = proj ? ws.data() + W.dm : nullptr;
  T* dHall = proj ? ws.data() + W.dh_all : nullptr;

  for (int64_t n = 0; n < L.N; ++n) {
    load_row(dH + n * Hout, row_ptr<T>(dh_n, n), dh_n ? dh_n->strides[1] : 0, Hout);
    if (lstm) load_row(dC + n * H, row_ptr<T>(dc_n, n), dc_n ? dc_n->strides[1] : 0, H);
  }
  const StepWeight<T> whh(as_matrix<const T>(w_hh), threads);
  std::optional<StepWeight<T>> whr;
  if (proj) whr.emplace(as_matrix<const T>(*w_hr), threads);
  for (int64_t k = L.T - 1; k >= 0; --k) {
    const int64_t t = L.step(k), b = L.batch[t], r0 = L.offset[t];
    if (dy) {  // dh[:b] += dy[t]
      const MatrixView<const T> DYt = L.step_rows<const T>(*dy, t);
      for (int64_t n = 0; n < b; ++n)
        for (int64_t j = 0; j < Hout; ++j) dH[n * Hout + j] += DYt.at(n, j);
    }
    if (proj) {  // keep dh for dw_hr; dm = dh W_hr
      std::memcpy(dHall + r0 * P, dH, sizeof(T) * b * P);
      whr->apply(RnnLayout::block<const T>(dH, P, 0, b, 0, P), RnnLayout::block(dM, H, 0, b, 0, H),
                 T(0));
    }
    parallel_for(b, row_grain(L), threads, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        const T* row = R + (r0 + n) * ld;
        const T* g = row + L.res.gates;
        T* dg = dG + (r0 + n) * GH;
        T* dh = dH + n * Hout;
        if (lstm)
          lstm_row_backward(H, g, row + L.res.c_prev, proj ? dM + n * H : dh, dC + n * H, dg);
        else if (gru)
          gru_row_backward(H, g, row + L.res.gates_h, row + L.res.h_prev, dh, dg,
                           dGh + (r0 + n) * GH);
        else
          rnn_row_backward(H, g, dh, dg, L.mode == KN_RNN_TANH);
      }
    });
    // dh' = dgates_h W_hh (+ GRU's direct z dh, already in dh).
    whh.apply(RnnLayout::block<const T>(dGh, GH, r0, b, 0, GH),
              RnnLayout::block(dH, Hout, 0, b, 0, Hout), gru ? T(1) : T(0));
  }
  // After the first step every row's dh, dc is that of its initial state.
  for (int64_t n = 0; n < L.N; ++n) {
    if (dh0) store_row(as_matrix<T>(*dh0), n, dH + n * Hout);
    if (dc0) store_row(as_matrix<T>(*dc0), n, dC + n * H);
  }

  // The products over all rows.
  const MatrixView<const T> DG = RnnLayout::block<const T>(dG, GH, 0, L.rows, 0, GH);
  const MatrixView<const T> DGh = RnnLayout::block<const T>(dGh, GH, 0, L.rows, 0, GH);
  if (dx) {
    MatrixView<T> DX;
    if (L.all_rows(*dx, DX)) {
      gemm_parallel<T>(DG, as_matrix<const T>(*w_ih), DX, T(1), T(0), threads);
    } else {
      for (int64_t t = 0; t < L.T; ++t)
        gemm_parallel<T>(RnnLayout::block<const T>(dG, GH, L.offset[t], L.batch[t], 0, GH),
                         as_matrix<const T>(*w_ih), L.step_rows<T>(*dx, t), T(1), T(0), threads);
    }
  }
  if (dw_ih) {
    MatrixView<const T> X;
    if (L.all_rows(*x, X)) {
      gemm_parallel<T>(DG.t(), X, as_matrix<T>(*dw_ih), T(1), T(0), threads);
    } else {  // rows that do not merge: one product per step, accumulated
      for (int64_t t = 0; t < L.T; ++t)
        gemm_parallel<T>(RnnLayout::block<const T>(dG, GH, L.offset[t], L.batch[t], 0, GH).t(),
                         L.step_rows<const T>(*x, t), as_matrix<T>(*dw_ih), T(1),
                         t == 0 ? T(0) : T(1), threads);
    }
  }
  if (dw_hh)
    gemm_parallel<T>(DGh.t(), RnnLayout::block<const T>(R, ld, 0, L.rows, L.res.h_prev, Hout),
                     as_matrix<T>(*dw_hh), T(1), T(0), threads);
  if (db_ih) column_sum<T>(DG, data_as<T>(*db_ih), db_ih->strides[0], threads);
  if (db_hh) column_sum<T>(DGh, data_as<T>(*db_hh), db_hh->strides[0], threads);
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
