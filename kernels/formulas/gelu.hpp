// The formulas of GELU, shared by the CPU kernel (kernels/cpu/gelu.cpp) and
// the CUDA kernel (kernels/cuda/gelu.cu), so both compute the same formulas
// in the same order (except the float CPU erf form, below). T is float or
// double; float is computed in float, as torch does. On the CPU, float exp,
// tanh and erf are the vectorisable kn::fast_expf, fast_tanhf, fast_erff
// (kernels/internal/fast_math.hpp, max errors there) and double uses std::;
// CUDA uses its own device math for both.
//
//   none:  y = x Phi(x)                   dx = dy (Phi(x) + x phi(x))
//   tanh:  y = x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//          dx = dy (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)),
//          t = tanh(u)
// Both from the forward's input x.
#pragma once

#include <cmath>

#include "kernels/internal/math.hpp"  // exp_t, tanh_t, erf_t (vectorisable float on the CPU)

namespace kn::act {

// Constants of torch's GELU kernels.
constexpr double kSqrt1_2 = 0.70710678118654752440;        // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;     // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;    // sqrt(2 / pi)
constexpr double kKappa = 0.044715;

template <typename T>
KN_HD T gelu_erf(T x) { return x * T(0.5) * (T(1) + erf_t(x * T(kSqrt1_2))); }
template <typename T>
KN_HD T gelu_erf_grad(T dy, T x) {
  const T cdf = T(0.5) * (T(1) + erf_t(x * T(kSqrt1_2)));
  const T pdf = exp_t(T(-0.5) * x * x) * T(kInvSqrt2Pi);
  return dy * (cdf + x * pdf);
}

#if !defined(__CUDACC__)
// Float GELU on the CPU: Phi(x) = 0.5 (1 + erf(x / sqrt 2)) by Abramowitz & Stegun
// 7.1.26 (the erf torch's vectorised CPU GELU uses), |erf error| <= 1.5e-7:
//   erfc(z) = t P(t) exp(-z^2),  t = 1 / (1 + p z),  z = |x| / sqrt 2 >= 0
//   Phi(x) = 1 - erfc(z) / 2 (x >= 0),  erfc(z) / 2 (x < 0: no cancellation)
// One exp, exp(-x^2 / 2), serves Phi and phi(x) = exp(-x^2 / 2) / sqrt(2 pi), so the
// backward costs one exp instead of an erf and an exp. About 4x cheaper than
// fast_erff's three polynomials; the GELU error stays below 1.5e-7 |x| / 2 + rounding.
// NaN propagates (t is NaN); Phi(+inf) = 1; x * Phi for x = -inf is NaN, as torch.
inline float gelu_phi_and_exp(float x, float& e) {
  const float z = std::fabs(x) * float(kSqrt1_2);
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  e = fast_expf(-z * z);
  const float half_erfc = 0.5f * (p * t) * e;
  return x >= 0.0f ? 1.0f - half_erfc : half_erfc;  // NaN: half_erfc is NaN
}
inline float gelu_erf(float x) {
  float e;
  return x * gelu_phi_and_exp(x, e);
}
inline float gelu_erf_grad(float dy, float x) {
  float e;
  const float cdf = gelu_phi_and_exp(x, e);
  return dy * (cdf + x * (e * float(kInvSqrt2Pi)));
}
#endif

template <typename T>
KN_HD T gelu_tanh(T x) {
  const T inner = T(kSqrt2OverPi) * (x + T(kKappa) * x * x * x);
  return T(0.5) * x * (T(1) + tanh_t(inner));
}
template <typename T>
KN_HD T gelu_tanh_grad(T dy, T x) {
  const T x_sq = x * x;
  const T inner = T(kSqrt2OverPi) * (x + T(kKappa) * x_sq * x);
  const T t = tanh_t(inner);
  const T left = T(0.5) * x, right = T(1) + t;
  const T left_derivative = T(0.5) * right;
  const T right_derivative = T(1) - t * t;
  const T inner_derivative = T(kSqrt2OverPi) * (T(1) + T(3 * kKappa) * x_sq);
  return dy * (left_derivative + left * right_derivative * inner_derivative);
}

}  // namespace kn::act
