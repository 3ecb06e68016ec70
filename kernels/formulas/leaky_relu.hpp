// The formulas of leaky_relu, shared by the CPU kernel
// (kernels/cpu/leaky_relu.cpp) and the CUDA kernel (kernels/cuda/leaky_relu.cu),
// so both compute the same formulas in the same order. T is float or double;
// the slope is converted to T first, as torch does.
//
//   forward:  y  = x > 0 ? x : s x
//   backward: dx = self > 0 ? dy : s dy   (self = x, or y when s >= 0)
#pragma once

#include <cmath>

#include "kernels/internal/math.hpp"  // KN_HD

namespace kn::act {

// Both arms computed, then selected: branch-free, so the loops vectorise.
template <typename T>
KN_HD T leaky_relu(T x, T slope) {
  const T neg = x * slope;
  return x > T(0) ? x : neg;
}
template <typename T>
KN_HD T leaky_relu_grad(T dy, T self, T slope) {
  const T neg = dy * slope;
  return self > T(0) ? dy : neg;
}

}  // namespace kn::act
