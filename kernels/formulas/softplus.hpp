// The formulas of softplus, shared by the CPU kernel (kernels/cpu/softplus.cpp)
// and the CUDA kernel (kernels/cuda/softplus.cu): one struct, T = float or double.
//
//   forward:  y  = softplus(x; beta, threshold)
//   backward: dx = dy * dy/dx, from its input x
//
// Write both in T (float math for float, as torch). Use the vectorisable
// math of kernels/internal/math.hpp -- exp_t, expm1_t, log_t, log1p_t, tanh_t,
// erf_t -- never std::exp/std::log on floats (a libm call per element: ~10x
// slower). Prefer selects (c ? a : b, both arms computed) to branches: the
// loops then vectorise (make check says whether they did). At NaN and +-inf,
// do what torch does (the Python tests compare them).
#pragma once

#include "kernels/internal/math.hpp"

namespace kn::formulas {

template <typename T>
struct Softplus {
  // exp/log per element, both ways: the CPU loops prefetch their inputs
  // (kernels/internal/elementwise.hpp, Work::kHeavy).
  static constexpr bool kHeavyForward = true, kHeavyBackward = true;
  T beta, threshold;  // the scalar parameters, in T

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's: linear above the threshold, where log1p(exp(bx)) / beta == x in T.
    const T bx = x * beta;
    return bx > threshold ? x : log1p_t(exp_t(bx)) / beta;
  }

  // FORMULA backward: dx from dy and its input x.
  KN_HD T backward(T dy, T x) const {
    // dsoftplus/dx = sigmoid(beta x) = z / (z + 1), z = exp(beta x).
    const T z = exp_t(x * beta);
    return x * beta > threshold ? dy : dy * z / (z + T(1));
  }
};

}  // namespace kn::formulas
