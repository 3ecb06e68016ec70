// The batch layout of scaled_dot_product_attention, shared by the CPU and
// CUDA kernels: q:(*B, L, E) defines the batch *B (nb dims, count = product);
// k, v, the mask and the outputs each have the same number of batch dims,
// each of q's size or 1 (broadcast, validated by capi). A batch position b
// (row-major index over *B) maps to an element offset in each tensor:
//
//   AttentionBatch layout(q, k, v, mask, out, lse);   // host
//   layout.offset(b, AttentionBatch::K)               // host or device
//
// where a size-1 dim of a broadcast tensor contributes nothing (its stride is
// treated as 0). The last two dims (rows, columns) keep their strides, which
// AttentionOperands collects with the sizes for both kernels (the mask's row /
// column strides 0 where the mask has size 1 there).
#pragma once

#include <cstdint>

#include "kernels/core.h"
#include "kernels/internal/philox.hpp"  // KN_HOST_DEVICE

namespace kn {

struct AttentionBatch {
  enum Operand { Q = 0, K, V, MASK, OUT, LSE, DOUT, DQ, DK, DV, COUNT };
  int nb = 0;                          // number of batch dims
  int64_t count = 1;                   // product of q's batch sizes
  int64_t size[KN_MAX_DIMS] = {};      // q's batch sizes
  int64_t stride[COUNT][KN_MAX_DIMS] = {};  // per operand, 0 on broadcast dims

  // Registers operand `which` (t may be null: it then contributes offset 0).
  // q must be set first (it defines nb and the sizes).
  KN_HOST_DEVICE void set(Operand which, const kn_tensor* t, int batch_dims) {
    if (which == Q) {
      nb = batch_dims;
      count = 1;
      for (int d = 0; d < nb; ++d) size[d] = t->shape[d], count *= t->shape[d];
    }
    for (int d = 0; d < nb; ++d)
      stride[which][d] = (t == nullptr || t->shape[d] == 1) ? 0 : t->strides[d];
  }

  // Element offset of batch position b (row-major over *B) in operand `which`.
  KN_HOST_DEVICE int64_t offset(int64_t b, Operand which) const {
    int64_t off = 0;
    for (int d = nb - 1; d >= 0; --d) {
      const int64_t i = b % size[d];
      b /= size[d];
      off += i * stride[which][d];
    }
    return off;
  }
};

// Everything the kernels read about the operands' layout: the batch, the
// sizes L, S, E, Ev and each operand's [row stride, column stride] of its last
// two dims (x_r, x_c; 0 for an operand not given). Filled on the host by set();
// the CUDA kernels take it (inside their Geometry) by value.
struct AttentionOperands {
  AttentionBatch batch;
  int nb = 0;
  int64_t L = 0, S = 0, E = 0, Ev = 0;
  int64_t q_r = 0, q_c = 0, k_r = 0, k_c = 0, v_r = 0, v_c = 0, o_r = 0, o_c = 0, lse_r = 0;
  int64_t m_r = 0, m_c = 0;  // 0 where the mask has size 1 (or there is none)
  int64_t do_r = 0, do_c = 0, dq_r = 0, dq_c = 0, dk_r = 0, dk_c = 0, dv_r = 0, dv_c = 0;

  // q:(*B, L, E) k:(*Bk, S, E) v:(*Bv, S, Ev) mask:(*Bm, L|1, S|1) out:(*B, L, Ev)
  // lse:(*B, L); the backward's dout, dq, dk, dv (any of them null).
  void set(const kn_tensor& q, const kn_tensor& k, const kn_tensor& v, const kn_tensor* m,
           const kn_tensor& out, const kn_tensor& lse, const kn_tensor* dout = nullptr,
           const kn_tensor* dq = nullptr, const kn_tensor* dk = nullptr,
           const kn_tensor* dv = nullptr) {
    nb = q.ndim - 2;
    batch.set(AttentionBatch::Q, &q, nb);
    batch.set(AttentionBatch::K, &k, nb);
    batch.set(AttentionBatch::V, &v, nb);
    batch.set(AttentionBatch::MASK, m, nb);
    batch.set(AttentionBatch::OUT, &out, nb);
    batch.set(AttentionBatch::LSE, &lse, nb);
    batch.set(AttentionBatch::DOUT, dout, nb);
    batch.set(AttentionBatch::DQ, dq, nb);
    batch.set(AttentionBatch::DK, dk, nb);
    batch.set(AttentionBatch::DV, dv, nb);
    L = q.shape[nb], E = q.shape[nb + 1], S = k.shape[nb], Ev = v.shape[nb + 1];
    q_r = q.strides[nb], q_c = q.strides[nb + 1];
    k_r = k.strides[nb], k_c = k.strides[nb + 1];
    v_r = v.strides[nb], v_c = v.strides[nb + 1];
    o_r = out.strides[nb], o_c = out.strides[nb + 1];
    lse_r = lse.strides[nb];
    m_r = (m && m->shape[nb] != 1) ? m->strides[nb] : 0;
    m_c = (m && m->shape[nb + 1] != 1) ? m->strides[nb + 1] : 0;
    if (dout) do_r = dout->strides[nb], do_c = dout->strides[nb + 1];
    if (dq) dq_r = dq->strides[nb], dq_c = dq->strides[nb + 1];
    if (dk) dk_r = dk->strides[nb], dk_c = dk->strides[nb + 1];
    if (dv) dv_r = dv->strides[nb], dv_c = dv->strides[nb + 1];
  }
};

}  // namespace kn
