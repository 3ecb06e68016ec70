// Recurrent layers on CUDA: the steps of kernels/cpu/rnn.cpp (read its
// header), with the GEMMs of kernels/cuda/gemm.cuh and one fused kernel per
// step for the gates (kernels/formulas/rnn.hpp, the CPU's formulas). Unlike
// the CPU, the biases are written into the reserve first (FillBias) and the
// GEMMs accumulate onto them, and each step's recurrent GEMM is one call. Everything launches on ctx.stream; the backward's scratch is
// the caller's ex->workspace (kn_rnn_backward_workspace_size), never an
// allocation of ours.
#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/formulas/rnn.hpp"
#include "kernels/ops/rnn.hpp"

namespace kn::cuda {
namespace {

constexpr int kThreads = 256;

// f(i) for i in [0, n), grid-stride.
template <typename F>
__global__ void __launch_bounds__(kThreads) for_each_kernel(int64_t n, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) f(i);
}

template <typename F>
void for_each(CudaCall& call, int64_t n, F f, const char* name) {
  if (n <= 0) return;
  const LaunchConfig cfg = call.grid_stride(n, kThreads);
  for_each_kernel<F><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(n, f);
  call.check_launch(name);
}

// A strided matrix on the device side.
template <typename T>
struct Mat {
  T* p;
  int64_t rs, cs;
  __device__ T& at(int64_t r, int64_t c) const { return p[r * rs + c * cs]; }
};
template <typename T>
Mat<T> mat(const MatrixView<T>& m) { return {m.data, m.row_stride, m.col_stride}; }
template <typename T>
Mat<T> mat(const kn_tensor* t) {
  return t ? Mat<T>{data_as<T>(*t), t->strides[0], t->strides[1]} : Mat<T>{nullptr, 0, 0};
}

// Reserve rows: gates = b_ih (+ b_hh unless GRU); GRU's gates_h = b_hh.
template <typename T>
struct FillBias {
  T* R;
  int64_t ld, gates, gates_h, GH;
  const T* bi;
  int64_t bis;
  const T* bh;
  int64_t bhs;
  __device__ void operator()(int64_t i) const {
    const int64_t r = i / GH, j = i % GH;
    const T x = bi ? bi[j * bis] : T(0), h = bh ? bh[j * bhs] : T(0);
    if (gates_h >= 0) {
      R[r * ld + gates + j] = x;
      R[r * ld + gates_h + j] = h;
    } else {
      R[r * ld + gates + j] = x + h;
    }
  }
};

// dst(n0 + i / F, i % F) = src(n0 + i / F, i % F) or 0: a state's rows.
template <typename T>
struct CopyRows {
  Mat<T> dst;
  Mat<const T> src;  // src.p null: zeros
  int64_t n0, F;
  __device__ void operator()(int64_t i) const {
    const int64_t n = n0 + i / F, j = i % F;
    dst.at(n, j) = src.p ? src.at(n, j) : T(0);
  }
};
template <typename T>
void copy_rows(CudaCall& call, Mat<T> dst, Mat<const T> src, int64_t n0, int64_t n1, int64_t F) {
  for_each(call, (n1 - n0) * F, CopyRows<T>{dst, src, n0, F}, "rnn copy_rows");
}

// One step's gates, row n = i / H, unit j = i % H.
template <typename T>
struct GatesForward {
  int32_t mode;
  T* row0;      // the step's first reserve row
  T* next0;     // the next step's first reserve row, or null
  int64_t ld, H, after;
  RnnReserveColumns res;
  bool proj;
  Mat<T> y, h_n, c_n;  // y: the step's rows; h_n, c_n may be null
  __device__ void operator()(int64_t i) const {
    const int64_t n = i / H, j = i % H;
    T* row = row0 + n * ld;
    T* nrow = n < after ? next0 + n * ld : nullptr;
    T* g = row + res.gates;
    T h, c = T(0);
    if (mode == KN_LSTM) {
      rnn::lstm_forward(g[j], g[H + j], g[2 * H + j], g[3 * H + j], row[res.c_prev + j], c, h);
      if (nrow)
        nrow[res.c_prev + j] = c;
      else if (c_n.p)
        c_n.at(n, j) = c;
    } else if (mode == KN_GRU) {
      const T* gh = row + res.gates_h;
      rnn::gru_forward(g[j], g[H + j], g[2 * H + j], gh[j], gh[H + j], gh[2 * H + j],
                       row[res.h_prev + j], h);
    } else {
      h = g[j] = rnn::rnn_forward(g[j], mode == KN_RNN_TANH);
    }
    if (proj) {
      row[res.m + j] = h;  // h = m here; the projection follows
      return;
    }
    y.at(n, j) = h;
    if (nrow)
      nrow[res.h_prev + j] = h;
    else if (h_n.p)
      h_n.at(n, j) = h;
  }
};

// After a projection: y's rows of the step into the next h' or h_n.
template <typename T>
struct ScatterProjected {
  Mat<const T> y;
  T* next0;
  int64_t ld, h_prev, P, after;
  Mat<T> h_n;
  __device__ void operator()(int64_t i) const {
    const int64_t n = i / P, j = i % P;
    if (n < after)
      next0[n * ld + h_prev + j] = y.at(n, j);
    else if (h_n.p)
      h_n.at(n, j) = y.at(n, j);
  }
};

// dh[n, j] += dy(n, j), and (projection) dh_all's row = dh.
template <typename T>
struct AddDy {
  T* dh;
  Mat<const T> dy;  // null: nothing to add
  T* dh_all;        // null: no copy
  int64_t F;
  __device__ void operator()(int64_t i) const {
    const int64_t n = i / F, j = i % F;
    T v = dh[i];
    if (dy.p) v += dy.at(n, j);
    dh[i] = v;
    if (dh_all) dh_all[i] = v;
  }
};

template <typename T>
struct GatesBackward {
  int32_t mode;
  const T* row0;
  int64_t ld, H, GH;
  RnnReserveColumns res;
  T* dg0;   // the step's first dgates row (ld GH)
  T* dgh0;  // GRU: dgates_h
  T* dh;    // (N, Hout) running
  T* dc;    // LSTM (N, H)
  const T* dm;  // projection: W_hr^T dh (N, H), else null (dm = dh)
  __device__ void operator()(int64_t i) const {
    const int64_t n = i / H, j = i % H;
    const T* row = row0 + n * ld;
    const T* g = row + res.gates;
    T* dg = dg0 + n * GH;
    if (mode == KN_LSTM) {
      const T m = dm ? dm[n * H + j] : dh[n * H + j];
      T& c = dc[n * H + j];
      rnn::lstm_backward(g[j], g[H + j], g[2 * H + j], g[3 * H + j], row[res.c_prev + j], m, c,
                         dg[j], dg[H + j], dg[2 * H + j], dg[3 * H + j], c);
    } else if (mode == KN_GRU) {
      T* dgh = dgh0 + n * GH;
      T& d = dh[n * H + j];
      rnn::gru_backward(g[j], g[H + j], g[2 * H + j], row[res.gates_h + 2 * H + j],
                        row[res.h_prev + j], d, dg[j], dg[H + j], dg[2 * H + j], dgh[2 * H + j], d);
      dgh[j] = dg[j], dgh[H + j] = dg[H + j];
    } else {
      dg[j] = rnn::rnn_backward(dh[n * H + j], g[j], mode == KN_RNN_TANH);
    }
  }
};

template <typename T>
void forward(CudaCall& call, const RnnLayout& L, const kn_tensor& x, const kn_tensor* h0,
             const kn_tensor* c0, const kn_tensor& w_ih, const kn_tensor& w_hh,
             const kn_tensor* b_ih, const kn_tensor* b_hh, const kn_tensor* w_hr,
             const kn_tensor& y, const kn_tensor* h_n, const kn_tensor* c_n,
             const kn_tensor& reserve) {
  const int64_t H = L.H, Hout = L.Hout, GH = L.GH(), ld = L.res.cols;
  const bool gru = L.mode == KN_GRU, lstm = L.mode == KN_LSTM, proj = L.P > 0;
  T* R = data_as<T>(reserve);
  const MatrixView<const T> Wih = as_matrix<const T>(w_ih), Whh = as_matrix<const T>(w_hh);
  if (L.T == 0) {
    if (h_n) copy_rows<T>(call, mat<T>(h_n), mat<const T>(h0), 0, L.N, Hout);
    if (c_n) copy_rows<T>(call, mat<T>(c_n), mat<const T>(c0), 0, L.N, H);
    return;
  }
  for_each(call, L.rows * GH,
           FillBias<T>{R, ld, L.res.gates, gru ? L.res.gates_h : -1, GH,
                       b_ih ? data_as<const T>(*b_ih) : nullptr, b_ih ? b_ih->strides[0] : 0,
                       b_hh ? data_as<const T>(*b_hh) : nullptr, b_hh ? b_hh->strides[0] : 0},
           "rnn fill_bias");
  MatrixView<const T> X;
  if (L.all_rows(x, X)) {
    gemm<T>(call, X, Wih.t(), RnnLayout::block(R, ld, 0, L.rows, L.res.gates, GH), T(1), T(1));
  } else {
    for (int64_t t = 0; t < L.T; ++t)
      gemm<T>(call, L.step_rows<const T>(x, t), Wih.t(),
              RnnLayout::block(R, ld, L.offset[t], L.batch[t], L.res.gates, GH), T(1), T(1));
  }
  for (int64_t k = 0; k < L.T; ++k) {
    const int64_t t = L.step(k), b = L.batch[t], r0 = L.offset[t];
    const int64_t before = L.batch_before(k), after = L.batch_after(k);
    T* next = after > 0 ? R + L.offset[L.step(k + 1)] * ld : nullptr;
    if (b > before) {
      copy_rows<T>(call, Mat<T>{R + r0 * ld + L.res.h_prev, ld, 1}, mat<const T>(h0), before, b,
                   Hout);
      if (lstm)
        copy_rows<T>(call, Mat<T>{R + r0 * ld + L.res.c_prev, ld, 1}, mat<const T>(c0), before,
                     b, H);
    }
    gemm<T>(call, RnnLayout::block<const T>(R, ld, r0, b, L.res.h_prev, Hout), Whh.t(),
            RnnLayout::block(R, ld, r0, b, gru ? L.res.gates_h : L.res.gates, GH), T(1), T(1));
    const MatrixView<T> Yt = L.step_rows<T>(y, t);
    for_each(call, b * H,
             GatesForward<T>{L.mode, R + r0 * ld, next, ld, H, after, L.res, proj, mat(Yt),
                             mat<T>(h_n), mat<T>(c_n)},
             "rnn gates_forward");
    if (proj) {
      gemm<T>(call, RnnLayout::block<const T>(R, ld, r0, b, L.res.m, H),
              as_matrix<const T>(*w_hr).t(), Yt, T(1), T(0));
      for_each(call, b * Hout,
               ScatterProjected<T>{Mat<const T>{Yt.data, Yt.row_stride, Yt.col_stride}, next, ld,
                                   L.res.h_prev, Hout, after, mat<T>(h_n)},
               "rnn scatter_projected");
    }
  }
}

template <typename T>
void backward(CudaCall& call, const RnnLayout& L, const kn_tensor* x, const kn_tensor* w_ih,
              const kn_tensor& w_hh, const kn_tensor* w_hr, const kn_tensor& reserve,
              const kn_tensor* dy, const kn_tensor* dh_n, const kn_tensor* dc_n,
              const kn_tensor* dx, const kn_tensor* dh0, const kn_tensor* dc0,
              const kn_tensor* dw_ih, const kn_tensor* dw_hh, const kn_tensor* db_ih,
              const kn_tensor* db_hh, const kn_tensor* dw_hr, const CudaContext& ctx) {
  const int64_t H = L.H, Hout = L.Hout, P = L.P, GH = L.GH(), ld = L.res.cols;
  const bool gru = L.mode == KN_GRU, lstm = L.mode == KN_LSTM, proj = P > 0;
  const T* R = data_as<const T>(reserve);
  const RnnWorkspace W = rnn_workspace(L.mode, H, P, L.rows, L.N);
  const size_t need = static_cast<size_t>(W.elements) * sizeof(T);
  if (ctx.workspace_bytes < need)
    fail(KN_ERR_WORKSPACE_TOO_SMALL, call.op(), ": ex->workspace_bytes = ", ctx.workspace_bytes,
         ", this call needs ", need, " (kn_rnn_backward_workspace_size)");
  if (reinterpret_cast<uintptr_t>(ctx.workspace) % sizeof(T) != 0)
    fail(KN_ERR_INVALID_ARGUMENT, call.op(), ": ex->workspace must be aligned to ", sizeof(T),
         " bytes");
  T* ws = static_cast<T*>(ctx.workspace);
  T* dG = ws + W.dgates;
  T* dGh = gru ? ws + W.dgates_h : dG;
  T* dH = ws + W.dh;
  T* dC = lstm ? ws + W.dc : nullptr;
  T* dM = proj ? ws + W.dm : nullptr;
  T* dHall = proj ? ws + W.dh_all : nullptr;

  copy_rows<T>(call, Mat<T>{dH, Hout, 1}, mat<const T>(dh_n), 0, L.N, Hout);
  if (lstm) copy_rows<T>(call, Mat<T>{dC, H, 1}, mat<const T>(dc_n), 0, L.N, H);
  const MatrixView<const T> Whh = as_matrix<const T>(w_hh);
  for (int64_t k = L.T - 1; k >= 0; --k) {
    const int64_t t = L.step(k), b = L.batch[t], r0 = L.offset[t];
    if (dy || proj) {
      Mat<const T> dyt{nullptr, 0, 0};
      if (dy) {
        const MatrixView<const T> v = L.step_rows<const T>(*dy, t);
        dyt = {v.data, v.row_stride, v.col_stride};
      }
      for_each(call, b * Hout, AddDy<T>{dH, dyt, proj ? dHall + r0 * P : nullptr, Hout},
               "rnn add_dy");
    }
    if (proj)
      gemm<T>(call, RnnLayout::block<const T>(dH, P, 0, b, 0, P), as_matrix<const T>(*w_hr),
              RnnLayout::block(dM, H, 0, b, 0, H), T(1), T(0));
    for_each(call, b * H,
             GatesBackward<T>{L.mode, R + r0 * ld, ld, H, GH, L.res, dG + r0 * GH,
                              gru ? dGh + r0 * GH : nullptr, dH, dC, dM},
             "rnn gates_backward");
    gemm<T>(call, RnnLayout::block<const T>(dGh, GH, r0, b, 0, GH), Whh,
            RnnLayout::block(dH, Hout, 0, b, 0, Hout), T(1), gru ? T(1) : T(0));
  }
  if (dh0) copy_rows<T>(call, mat<T>(dh0), Mat<const T>{dH, Hout, 1}, 0, L.N, Hout);
  if (dc0) copy_rows<T>(call, mat<T>(dc0), Mat<const T>{dC, H, 1}, 0, L.N, H);

  const MatrixView<const T> DG = RnnLayout::block<const T>(dG, GH, 0, L.rows, 0, GH);
  const MatrixView<const T> DGh = RnnLayout::block<const T>(dGh, GH, 0, L.rows, 0, GH);
  if (dx) {
    MatrixView<T> DX;
    if (L.all_rows(*dx, DX)) {
      gemm<T>(call, DG, as_matrix<const T>(*w_ih), DX, T(1), T(0));
    } else {
      for (int64_t t = 0; t < L.T; ++t)
        gemm<T>(call, RnnLayout::block<const T>(dG, GH, L.offset[t], L.batch[t], 0, GH),
                as_matrix<const T>(*w_ih), L.step_rows<T>(*dx, t), T(1), T(0));
    }
  }
  if (dw_ih) {
    MatrixView<const T> X;
    if (L.all_rows(*x, X)) {
      gemm<T>(call, DG.t(), X, as_matrix<T>(*dw_ih), T(1), T(0));
    } else {
      for (int64_t t = 0; t < L.T; ++t)
        gemm<T>(call, RnnLayout::block<const T>(dG, GH, L.offset[t], L.batch[t], 0, GH).t(),
                L.step_rows<const T>(*x, t), as_matrix<T>(*dw_ih), T(1), t == 0 ? T(0) : T(1));
    }
  }
  if (dw_hh)
    gemm<T>(call, DGh.t(), RnnLayout::block<const T>(R, ld, 0, L.rows, L.res.h_prev, Hout),
            as_matrix<T>(*dw_hh), T(1), T(0));
  if (db_ih) column_sum<T>(call, DG, data_as<T>(*db_ih), db_ih->strides[0]);
  if (db_hh) column_sum<T>(call, DGh, data_as<T>(*db_hh), db_hh->strides[0]);
  if (dw_hr)
    gemm<T>(call, RnnLayout::block<const T>(dHall, P, 0, L.rows, 0, P).t(),
            RnnLayout::block<const T>(R, ld, 0, L.rows, L.res.m, H), as_matrix<T>(*dw_hr), T(1),
            T(0));
}

}  // namespace

void rnn_forward(const RnnLayout& L, const kn_tensor& x, const kn_tensor* h0, const kn_tensor* c0,
                 const kn_tensor& w_ih, const kn_tensor& w_hh, const kn_tensor* b_ih,
                 const kn_tensor* b_hh, const kn_tensor* w_hr, const kn_tensor& y,
                 const kn_tensor* h_n, const kn_tensor* c_n, const kn_tensor& reserve,
                 const CudaContext& ctx) {
  CudaCall call("kn_rnn_forward", x, ctx);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    forward<decltype(tag)>(call, L, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, y, h_n, c_n, reserve);
  });
}

void rnn_backward(const RnnLayout& L, const kn_tensor* x, const kn_tensor* w_ih,
                  const kn_tensor& w_hh, const kn_tensor* w_hr, const kn_tensor& reserve,
                  const kn_tensor* dy, const kn_tensor* dh_n, const kn_tensor* dc_n,
                  const kn_tensor* dx, const kn_tensor* dh0, const kn_tensor* dc0,
                  const kn_tensor* dw_ih, const kn_tensor* dw_hh, const kn_tensor* db_ih,
                  const kn_tensor* db_hh, const kn_tensor* dw_hr, const CudaContext& ctx) {
  CudaCall call("kn_rnn_backward", w_hh, ctx);
  dispatch_float(w_hh.dtype, call.op(), [&](auto tag) {
    backward<decltype(tag)>(call, L, x, w_ih, w_hh, w_hr, reserve, dy, dh_n, dc_n, dx, dh0, dc0,
                            dw_ih, dw_hh, db_ih, db_hh, dw_hr, ctx);
  });
}

}  // namespace kn::cuda
