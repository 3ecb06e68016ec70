// Device-side pieces shared by the class-index loss kernels (nll_loss.cu,
// cross_entropy.cu). See kernels/internal/class_loss.hpp for the geometry.
// Out-of-range targets cannot be reported without a synchronisation: a row
// whose target is outside [0, C) and not ignore_index gets a NaN loss, a NaN
// weight (so total_weight and a MEAN/SUM are NaN) and NaN gradients.
// (Written for softmax and losses.)
#pragma once

#include "kernels/cuda/row_reduce.cuh"
#include "kernels/nll_loss.h"
#include "kernels/internal/class_loss.hpp"

namespace kn::cuda {

constexpr int kLossReduceThreads = 1024;  // the single-block reductions
constexpr int kLossRowThreads = 256;      // row kernels: 8 warps = 8 rows per block

template <typename T>
struct LossArgs {
  int32_t reduction;
  int64_t ignore_index;
  double label_smoothing;
  int64_t classes;
  const T* weight;  // nullptr = all ones
  int64_t weight_stride;
  __device__ double w(int64_t c) const { return weight ? double(weight[c * weight_stride]) : 1.0; }
  __device__ bool ignored(int64_t t) const { return t == ignore_index; }
  __device__ bool bad(int64_t t) const { return t != ignore_index && (t < 0 || t >= classes); }
};

template <typename T>
LossArgs<T> loss_args(const kn_cross_entropy_params& p, int64_t classes, const kn_tensor* weight) {
  return {p.reduction,
          p.ignore_index,
          p.label_smoothing,
          classes,
          weight ? static_cast<const T*>(weight->data) : nullptr,
          weight ? weight->strides[0] : 0};
}

template <typename I>
__device__ __forceinline__ int64_t load_target(const char* base, int64_t off) {
  return static_cast<int64_t>(*reinterpret_cast<const I*>(base + off));
}

// The gradient scale for MEAN / SUM, read on the device (dout and
// total_weight are 0-d device tensors).
template <typename T>
__device__ __forceinline__ double reduced_scale(int32_t reduction, const T* dout, const T* total_weight) {
  const double g = double(*dout);
  return reduction == KN_REDUCTION_MEAN ? g / double(*total_weight) : g;
}

}  // namespace kn::cuda
