// The formulas of hardswish, shared by the CPU kernel (kernels/cpu/hardswish.cpp)
// and the CUDA kernel (kernels/cuda/hardswish.cu): one struct, T = float or double.
//
//   forward:  y  = hardswish(x) = x * min(max(x + 3, 0), 6) / 6
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
struct Hardswish {

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's: x * clamp(x + 3, 0, 6) / 6; hardswish(-inf) = -inf * 0 = NaN, as torch.
    T c = x + T(3);
    c = c < T(0) ? T(0) : c;
    c = c > T(6) ? T(6) : c;
    return x * c / T(6);
  }

  // FORMULA backward: dx from dy and its input x.
  KN_HD T backward(T dy, T x) const {
    // torch's select (2.13, measured): 0 at x <= -3, dy (x / 3 + 1/2) for -3 < x < 3,
    // dy at x >= 3 and at NaN.
    return x <= T(-3) ? T(0) : (x < T(3) ? dy * (x / T(3) + T(0.5)) : dy);
  }
};

}  // namespace kn::formulas
