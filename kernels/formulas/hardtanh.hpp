// The formulas of hardtanh, shared by the CPU kernel (kernels/cpu/hardtanh.cpp)
// and the CUDA kernel (kernels/cuda/hardtanh.cu): one struct, T = float or double.
//
//   forward:  y  = hardtanh(x; min_val, max_val) = min(max(x, min_val), max_val)
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
struct Hardtanh {
  T min_val, max_val;  // the scalar parameters, in T

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    // torch's clamp(x, min_val, max_val): hardtanh(-0) = -0, NaN propagates.
    const T lo = x < min_val ? min_val : x;
    return lo > max_val ? max_val : lo;
  }

  // FORMULA backward: dx from dy and its output y.
  KN_HD T backward(T dy, T y) const {
    // torch's hardtanh_backward: 0 where x <= min_val or x >= max_val, dy elsewhere
    // and at NaN. y is strictly inside (min_val, max_val) exactly where x is, so y
    // serves (torch's hardtanh_ takes the result too).
    return y <= min_val ? T(0) : (y >= max_val ? T(0) : dy);
  }
};

}  // namespace kn::formulas
