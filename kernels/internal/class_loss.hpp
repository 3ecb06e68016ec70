// Geometry of the class-index losses (nll_loss, cross_entropy), shared by
// their CPU and CUDA kernels:
//   input (N, C, d1, ..., dk) with the class dim 1, or (C,) with dim 0;
//   target (N, d1, ..., dk) / (): one "row" per target element.
// Row views drop the class dim (see dim_rows.hpp: byte strides), so the rows
// of input, dinput, target, lse and an unreduced out/dout are walked together.
//
// (Written for softmax and losses.)
#pragma once

#include <cstdint>

#include "kernels/internal/dim_rows.hpp"

namespace kn {

inline int class_dim(const kn_tensor& input) { return input.ndim == 1 ? 0 : 1; }

// Deterministic sums of one class-loss call: sum of row losses and of the
// weights of non-ignored rows (total_weight). Usable as parallel_reduce_sum's Acc.
struct LossSum {
  double loss = 0, weight = 0;
  LossSum() = default;
  explicit LossSum(int) {}
  LossSum(double l, double w) : loss(l), weight(w) {}
  LossSum& operator+=(const LossSum& o) {
    loss += o.loss, weight += o.weight;
    return *this;
  }
};

// Rows per reduction block: fixed by C alone (not the thread count).
inline int64_t loss_block_rows(int64_t classes) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, classes));
}

}  // namespace kn
