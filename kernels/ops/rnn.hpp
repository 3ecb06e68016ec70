// The kernels of the recurrent layers: kernels/cpu/rnn.cpp and
// kernels/cuda/rnn.cu, called by capi/rnn.cpp after validation
// (kernels/context.hpp says what that guarantees), and RnnLayout, the
// description of one call both share: the steps, their rows, and where each
// saved quantity lives in the reserve and in the backward's scratch.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/context.hpp"
#include "kernels/internal/blas.hpp"  // MatrixView
#include "kernels/rnn.h"

namespace kn {

// Gates per mode: RNN 1, LSTM 4 (i f g o), GRU 3 (r z n).
inline int64_t rnn_gates(int32_t mode) { return mode == KN_LSTM ? 4 : mode == KN_GRU ? 3 : 1; }

// One reserve row (one step of one sequence), in elements, in this order:
//   gates   G H   the gate activations: RNN h_t; LSTM i f g o; GRU r z n.
//                 (The forward first writes the pre-activations here.)
//   gates_h 3 H   GRU only: W_h h' + b_h (r z n parts); hn is what backward needs.
//   h_prev  Hout  h' = the state this step starts from (h0, or the previous step's h).
//   c_prev  H     LSTM only: c'.
//   m       H     LSTM with a projection only: m = o tanh(c), before W_hr.
// Keeping h' per row (rather than h_t) makes dw_hh = dgates^T h' ONE GEMM over
// all rows, packed or not.
struct RnnReserveColumns {
  int64_t gates, gates_h = -1, h_prev, c_prev = -1, m = -1, cols;
};
inline RnnReserveColumns rnn_reserve_columns(int32_t mode, int64_t H, int64_t P) {
  RnnReserveColumns r;
  const int64_t Hout = P > 0 ? P : H;
  int64_t at = 0;
  r.gates = at, at += rnn_gates(mode) * H;
  if (mode == KN_GRU) r.gates_h = at, at += 3 * H;
  r.h_prev = at, at += Hout;
  if (mode == KN_LSTM) r.c_prev = at, at += H;
  if (mode == KN_LSTM && P > 0) r.m = at, at += H;
  r.cols = at;
  return r;
}

// The backward's scratch (kn_rnn_backward_workspace_size), in elements:
//   dgates   rows x G H  gradients of the gate pre-activations (x part)
//   dgates_h rows x 3 H  GRU only: of the h parts (they differ in n)
//   dh_all   rows x P    projection only: each step's dh, for dw_hr
//   dh       N x Hout    the running gradient of the state h
//   dc       N x H       LSTM: of c
//   dm       N x H       projection only: W_hr^T dh
struct RnnWorkspace {
  int64_t dgates, dgates_h = -1, dh_all = -1, dh, dc = -1, dm = -1, elements;
};
inline RnnWorkspace rnn_workspace(int32_t mode, int64_t H, int64_t P, int64_t rows, int64_t N) {
  RnnWorkspace w;
  const int64_t Hout = P > 0 ? P : H, GH = rnn_gates(mode) * H;
  int64_t at = 0;
  w.dgates = at, at += rows * GH;
  if (mode == KN_GRU) w.dgates_h = at, at += rows * GH;
  if (P > 0) w.dh_all = at, at += rows * P;
  w.dh = at, at += N * Hout;
  if (mode == KN_LSTM) w.dc = at, at += N * H;
  if (P > 0) w.dm = at, at += N * H;
  w.elements = at;
  return w;
}

// One validated call: shapes, the steps and their rows.
struct RnnLayout {
  int32_t mode;
  bool reverse;
  int64_t H, P, Hout, G, T, N, rows;
  bool packed;
  std::vector<int64_t> batch;   // rows at step t (T entries)
  std::vector<int64_t> offset;  // first row of step t (T + 1 entries; offset[T] = rows)
  RnnReserveColumns res;

  int64_t GH() const { return G * H; }
  // Step `k` in processing order (reverse runs t = T-1 .. 0), and the rows
  // of the step processed before / after it (0 at the ends).
  int64_t step(int64_t k) const { return reverse ? T - 1 - k : k; }
  int64_t batch_before(int64_t k) const { return k > 0 ? batch[step(k - 1)] : 0; }
  int64_t batch_after(int64_t k) const { return k + 1 < T ? batch[step(k + 1)] : 0; }
  // The rows of step t of a sequence tensor (x, y, dx, dy): a padded (T, N, F)
  // view or a packed (total, F) one. Always a matrix view.
  template <typename E>
  MatrixView<E> step_rows(const kn_tensor& s, int64_t t) const {
    E* base = static_cast<E*>(s.data);
    if (packed)
      return {base + offset[t] * s.strides[0], batch[t], s.shape[1], s.strides[0], s.strides[1]};
    return {base + t * s.strides[0], N, s.shape[2], s.strides[1], s.strides[2]};
  }
  // All rows of a sequence tensor as one (rows, F) matrix, when its strides
  // allow (packed: always; padded: when step t+1's rows follow step t's).
  template <typename E>
  bool all_rows(const kn_tensor& s, MatrixView<E>& m) const {
    if (packed) {
      m = {static_cast<E*>(s.data), rows, s.shape[1], s.strides[0], s.strides[1]};
      return true;
    }
    int64_t rs;
    if (T == 1 || rows == 0)
      rs = s.strides[1];
    else if (N == 1)
      rs = s.strides[0];
    else if (s.strides[0] == N * s.strides[1])
      rs = s.strides[1];
    else
      return false;
    m = {static_cast<E*>(s.data), rows, s.shape[2], rs, s.strides[2]};
    return true;
  }
  // Columns [c0, c0 + n) of rows [r0, r0 + count) of a contiguous-row matrix
  // (the reserve, the scratch) with `ld` elements per row.
  template <typename E>
  static MatrixView<E> block(E* base, int64_t ld, int64_t r0, int64_t count, int64_t c0,
                             int64_t n) {
    return {base + r0 * ld + c0, count, n, ld, 1};
  }
};

}  // namespace kn

#define KN_RNN_KERNELS(Context)                                                                \
  /* x:(T,N,I)|(total,I) h0,c0:(N,Hout),(N,H)? w_ih:(GH,I) w_hh:(GH,Hout) b_ih,b_hh:(GH)?   */ \
  /* w_hr:(P,H)? -> y:(T,N,Hout)|(total,Hout) h_n,c_n? reserve:(rows,cols)               */ \
  void rnn_forward(const RnnLayout& L, const kn_tensor& x, const kn_tensor* h0,                \
                   const kn_tensor* c0, const kn_tensor& w_ih, const kn_tensor& w_hh,          \
                   const kn_tensor* b_ih, const kn_tensor* b_hh, const kn_tensor* w_hr,        \
                   const kn_tensor& y, const kn_tensor* h_n, const kn_tensor* c_n,             \
                   const kn_tensor& reserve, const Context& ctx);                              \
  /* reserve, dy?, dh_n?, dc_n? -> dx? dh0? dc0? dw_ih? dw_hh? db_ih? db_hh? dw_hr?        */ \
  /* workspace: RnnWorkspace elements of T (CPU: nullptr = allocate)                      */ \
  void rnn_backward(const RnnLayout& L, const kn_tensor* x, const kn_tensor* w_ih,             \
                    const kn_tensor& w_hh, const kn_tensor* w_hr, const kn_tensor& reserve,    \
                    const kn_tensor* dy, const kn_tensor* dh_n, const kn_tensor* dc_n,         \
                    const kn_tensor* dx, const kn_tensor* dh0, const kn_tensor* dc0,           \
                    const kn_tensor* dw_ih, const kn_tensor* dw_hh, const kn_tensor* db_ih,    \
                    const kn_tensor* db_hh, const kn_tensor* dw_hr, const Context& ctx);

KN_DECLARE_KERNELS(KN_RNN_KERNELS)
