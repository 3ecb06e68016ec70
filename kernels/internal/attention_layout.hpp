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
// treated as 0). The last two dims (rows, columns) keep their strides:
// q.strides[nb], q.strides[nb + 1], ... read by the kernels directly, with the
// mask's row / column strides set to 0 where the mask has size 1 there.
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

}  // namespace kn
