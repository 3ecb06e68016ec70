// The element-wise maths of sigmoid, tanh, leaky_relu and GELU, shared by
// the CPU kernels (kernels/cpu/activations.cpp) and the CUDA kernels
// (kernels/cuda/activations.cu), so both compute the same formulas in the
// same order. T is float or double; float is computed in float (expf,
// tanhf, erff), as torch does.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define KN_ACT_HD __host__ __device__ __forceinline__
#else
#define KN_ACT_HD inline
#endif

namespace kn::act {

// std:: overloads, so that float arguments stay float (expf, not exp).
using std::erf;
using std::exp;
using std::fabs;
using std::tanh;

// Constants of torch's GELU kernels.
constexpr double kSqrt1_2 = 0.70710678118654752440;        // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;     // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;    // sqrt(2 / pi)
constexpr double kKappa = 0.044715;

// sigmoid(x) from e = exp(-|x|) only: no overflow, and for x < 0 the result
// e / (1 + e) keeps its relative precision down to the denormals.
template <typename T>
KN_ACT_HD T sigmoid(T x) {
  const T e = exp(-fabs(x));
  const T s = T(1) / (T(1) + e);
  return x >= T(0) ? s : e * s;
}
template <typename T>
KN_ACT_HD T sigmoid_grad(T dy, T y) { return dy * (T(1) - y) * y; }

template <typename T>
KN_ACT_HD T tanh_grad(T dy, T y) { return dy * (T(1) - y * y); }

template <typename T>
KN_ACT_HD T leaky_relu(T x, T slope) { return x > T(0) ? x : x * slope; }
template <typename T>
KN_ACT_HD T leaky_relu_grad(T dy, T self, T slope) { return self > T(0) ? dy : dy * slope; }

template <typename T>
KN_ACT_HD T gelu_erf(T x) { return x * T(0.5) * (T(1) + erf(x * T(kSqrt1_2))); }
template <typename T>
KN_ACT_HD T gelu_erf_grad(T dy, T x) {
  const T cdf = T(0.5) * (T(1) + erf(x * T(kSqrt1_2)));
  const T pdf = exp(T(-0.5) * x * x) * T(kInvSqrt2Pi);
  return dy * (cdf + x * pdf);
}

template <typename T>
KN_ACT_HD T gelu_tanh(T x) {
  const T inner = T(kSqrt2OverPi) * (x + T(kKappa) * x * x * x);
  return T(0.5) * x * (T(1) + tanh(inner));
}
template <typename T>
KN_ACT_HD T gelu_tanh_grad(T dy, T x) {
  const T x_sq = x * x;
  const T inner = T(kSqrt2OverPi) * (x + T(kKappa) * x_sq * x);
  const T t = tanh(inner);
  const T left = T(0.5) * x, right = T(1) + t;
  const T left_derivative = T(0.5) * right;
  const T right_derivative = T(1) - t * t;
  const T inner_derivative = T(kSqrt2OverPi) * (T(1) + T(3 * kKappa) * x_sq);
  return dy * (left_derivative + left * right_derivative * inner_derivative);
}

}  // namespace kn::act
