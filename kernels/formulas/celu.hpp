// The formulas of celu, shared by the CPU kernel (kernels/cpu/celu.cpp)
// and the CUDA kernel (kernels/cuda/celu.cu): one struct, T = float or double.
//
//   forward:  y  = celu(x; alpha)
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

// Until the TODO line below is deleted the C entry points refuse to run
// (KN_ERR_UNSUPPORTED), so every test says what is missing instead of failing
// on numbers.

namespace kn::formulas {

template <typename T>
struct Celu {
  // exp/log per element, both ways: the CPU loops prefetch their inputs
  // (kernels/internal/elementwise.hpp, Work::kHeavy).
  static constexpr bool kHeavyForward = true, kHeavyBackward = true;
  T alpha;  // the scalar parameters, in T

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's: x above 0, alpha expm1(x / alpha) at or below (any alpha != 0).
    return x > T(0) ? x : alpha * expm1_t(x / alpha);
  }

  // FORMULA backward: dx from dy and its input x.
  KN_HD T backward(T dy, T x) const {
    // dcelu/dx = 1 above 0, exp(x / alpha) at or below; dy at NaN, as torch's select.
    return x <= T(0) ? dy * exp_t(x / alpha) : dy;
  }
};

}  // namespace kn::formulas
