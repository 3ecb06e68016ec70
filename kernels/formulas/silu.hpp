// The formulas of silu, shared by the CPU kernel (kernels/cpu/silu.cpp)
// and the CUDA kernel (kernels/cuda/silu.cu): one struct, T = float or double.
//
//   forward:  y  = silu(x) = x * sigmoid(x)
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
struct Silu {
  // exp/log per element, both ways: the CPU loops prefetch their inputs
  // (kernels/internal/elementwise.hpp, Work::kHeavy).
  static constexpr bool kHeavyForward = true, kHeavyBackward = true;

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's: x / (1 + exp(-x)); silu(-inf) = -inf / inf = NaN, as torch.
    return x / (T(1) + exp_t(-x));
  }

  // FORMULA backward: dx from dy and its input x.
  KN_HD T backward(T dy, T x) const {
    // torch's: s = sigmoid(x), dsilu/dx = s (1 + x (1 - s)); NaN at +-inf, as torch.
    const T s = T(1) / (T(1) + exp_t(-x));
    return dy * s * (T(1) + x * (T(1) - s));
  }
};

}  // namespace kn::formulas
