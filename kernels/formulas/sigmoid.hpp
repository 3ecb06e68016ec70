// The formulas of sigmoid, shared by the CPU kernel (kernels/cpu/sigmoid.cpp)
// and the CUDA kernel (kernels/cuda/sigmoid.cu), so both compute the same
// formulas in the same order. T is float or double; float is computed in
// float, as torch does. On the CPU, float exp is the vectorisable
// kn::fast_expf (kernels/internal/fast_math.hpp, max errors there) and
// double uses std::; CUDA uses its own device math for both.
//
//   forward:  y  = 1 / (1 + exp(-x))
//   backward: dx = dy (1 - y) y, from the forward's output y
#pragma once

#include <cmath>

#include "kernels/internal/math.hpp"  // exp_t (vectorisable float on the CPU)

namespace kn::act {

using std::fabs;

// sigmoid(x) from e = exp(-|x|) only: no overflow, and for x < 0 the result
// e / (1 + e) keeps its relative precision down to the denormals.
template <typename T>
KN_HD T sigmoid(T x) {
  const T e = exp_t(-fabs(x));
  const T s = T(1) / (T(1) + e);
  return x >= T(0) ? s : e * s;
}
template <typename T>
KN_HD T sigmoid_grad(T dy, T y) { return dy * (T(1) - y) * y; }

}  // namespace kn::act
