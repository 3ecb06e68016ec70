// The formulas of relu6, shared by the CPU kernel (kernels/cpu/relu6.cpp)
// and the CUDA kernel (kernels/cuda/relu6.cu): one struct, T = float or double.
//
//   forward:  y  = relu6(x) = min(max(x, 0), 6)
//   backward: dx = dy * dy/dx, from its output y
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
struct Relu6 {

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's hardtanh(x, 0, 6) (a clamp): relu6(-0) = -0, NaN propagates.
    const T lo = x < T(0) ? T(0) : x;
    return lo > T(6) ? T(6) : lo;
  }

  // FORMULA backward: dx from dy and its output y.
  KN_HD T backward(T dy, T y) const {
    // torch's hardtanh_backward: 0 where x <= 0 or x >= 6, dy elsewhere and at NaN.
    // y is strictly inside (0, 6) exactly where x is, so y serves (and in-place works).
    return y <= T(0) ? T(0) : (y >= T(6) ? T(0) : dy);
  }
};

}  // namespace kn::formulas
