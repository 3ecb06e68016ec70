// The formulas of mish, shared by the CPU kernel (kernels/cpu/mish.cpp)
// and the CUDA kernel (kernels/cuda/mish.cu): one struct, T = float or double.
//
//   forward:  y  = mish(x) = x * tanh(softplus(x)) = x * tanh(log(1 + exp(x)))
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
struct Mish {
  // exp/log per element, both ways: the CPU loops prefetch their inputs
  // (kernels/internal/elementwise.hpp, Work::kHeavy).
  static constexpr bool kHeavyForward = true, kHeavyBackward = true;
  // With e = exp(x): tanh(log(1 + e)) = n / (n + 2), n = e (e + 2) (no tanh and
  // no log: one exp), and dmish/dx = t + x sigmoid(x) (1 - t^2)
  // = (n m + 4 x e (1 + e)) / m^2, m = n + 2. Above x = 20, t = 1 and the
  // derivative is 1 in float and double (and m^2 would overflow float from x = 22):
  // selected (1 + x * 0: NaN at +inf, as torch's). mish(-inf) = -inf * 0 = NaN and
  // mish'(+-inf) = NaN, as torch's.

  // FORMULA forward: y from x.
  KN_HD T forward(T x) const {
    const T e = exp_t(x);
    const T n = e * (e + T(2));
    return x * (x > T(20) ? T(1) : n / (n + T(2)));
  }

  // FORMULA backward: dx from dy and its input x.
  KN_HD T backward(T dy, T x) const {
    const T e = exp_t(x);
    const T n = e * (e + T(2));
    const T m = n + T(2);
    const T d = (n * m + T(4) * x * e * (T(1) + e)) / (m * m);
    return dy * (x > T(20) ? T(1) + x * T(0) : d);
  }
};

}  // namespace kn::formulas
