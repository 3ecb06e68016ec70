// The formulas of elu, shared by the CPU kernel (kernels/cpu/elu.cpp)
// and the CUDA kernel (kernels/cuda/elu.cu): one struct, T = float or double.
//
//   forward:  y  = elu(x; alpha) = x if x > 0, alpha (exp(x) - 1) otherwise
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
struct Elu {
  // exp/log per element, both ways: the CPU loops prefetch their inputs
  // (kernels/internal/elementwise.hpp, Work::kHeavy).
  static constexpr bool kHeavyForward = true, kHeavyBackward = true;
  T alpha;  // the scalar parameters, in T

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's: x < 0 ? expm1(x) * alpha : x (expm1: no cancellation near 0). At +-0 it
    // is x itself, so elu(+0) = +0 and elu(-0) = -0 for any alpha (alpha < 0 included,
    // where alpha expm1(+-0) would flip the sign), as torch; NaN -> NaN.
    return x < T(0) ? expm1_t(x) * alpha : x;
  }

  // FORMULA backward: dx from dy and its input x.
  KN_HD T backward(T dy, T x) const {
    // torch's (from the input): x <= 0 ? dy alpha exp(x) : dy; dy at NaN.
    return x <= T(0) ? dy * alpha * exp_t(x) : dy;
  }
};

}  // namespace kn::formulas
