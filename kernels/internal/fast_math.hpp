// Vectorisable float tanh and erf for the element-wise CPU kernels (the
// compiler turns loops over them into SIMD code; std::tanh/std::erf(float)
// are libm calls per element). Both are branch-free: every lane computes
// both ranges and selects, so compile the caller with -fno-trapping-math
// (see kernels/cpu/activations.cpp) for GCC to if-convert the selects.
//
//   fast_tanhf  Cephes tanhf: x + x^3 P(x^2) for |x| < 0.625, else
//               sign(x) (1 - 2 / (exp(2|x|) + 1)) with kn::fast_expf.
//               Max relative error 1.4e-7 (2.4 * 2^-24) for all x; +-1 for
//               large |x|; tanh(-0) = -0; NaN propagates.
//   fast_erff   Cephes erff/erfcf: x P(x^2) for |x| < 1, else
//               sign(x) (1 - exp(-x^2) / |x| Q(1/x^2)) (two Q's, for |x| < 2
//               and |x| >= 2); |x| is clamped to 10 (erf = +-1 in float from
//               |x| > 3.92). Max error 2.6 ulp for |x| < 1 and 8.5e-8
//               absolute (about 1 ulp of the result) elsewhere; erf(-0) = -0;
//               NaN propagates.
// Errors measured against double std::tanh / std::erf on every 13th float
// in [-12, 12] (tests/cpp/test_activations.cpp checks the kernels).
#pragma once

#include <cmath>

#include "kernels/internal/fast_exp.hpp"

namespace kn {

inline float fast_tanhf(float x) {
  const float z = std::fabs(x);
  // Small range: odd polynomial.
  const float s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float small = p * s * z + z;
  // Large range (z clamped so exp cannot overflow: tanh(44) = 1 in float;
  // NaN compares false and stays NaN).
  const float zc = z > 44.0f ? 44.0f : z;
  const float big = 1.0f - 2.0f / (fast_expf(zc + zc) + 1.0f);
  return std::copysign(z < 0.625f ? small : big, x);  // keeps tanh(-0) = -0
}

inline float fast_erff(float x) {
  const float z = std::fabs(x);
  // |x| < 1: erf(x) = x T(x^2).
  const float s = x * x;
  float t = 7.853861353153693e-5f;
  t = t * s - 8.010193625184903e-4f;
  t = t * s + 5.188327685732524e-3f;
  t = t * s - 2.685381193529856e-2f;
  t = t * s + 1.128358514861418e-1f;
  t = t * s - 3.761262582423300e-1f;
  t = t * s + 1.128379165726710e+0f;
  const float small = z * t;
  // |x| >= 1: erfc(|x|) = exp(-x^2) / |x| P(1/x^2) (1 <= |x| < 2) or R(1/x^2).
  // (NaN compares false in both clamps and stays NaN.)
  float zc = z > 10.0f ? 10.0f : z;
  zc = zc < 1.0f ? 1.0f : zc;
  const float q = 1.0f / zc, y = q * q;
  float p = 2.326819970068386e-2f;
  p = p * y - 1.387039388740657e-1f;
  p = p * y + 3.687424674597105e-1f;
  p = p * y - 5.824733027278666e-1f;
  p = p * y + 6.210004621745983e-1f;
  p = p * y - 4.944515323274145e-1f;
  p = p * y + 3.404879937665872e-1f;
  p = p * y - 2.741127028184656e-1f;
  p = p * y + 5.638259427386472e-1f;
  float r = -1.047766399936249e+1f;
  r = r * y + 1.297719955372516e+1f;
  r = r * y - 7.495518717768503e+0f;
  r = r * y + 2.921019019210786e+0f;
  r = r * y - 1.015265279202700e+0f;
  r = r * y + 4.218463358204948e-1f;
  r = r * y - 2.820767439740514e-1f;
  r = r * y + 5.641895067754075e-1f;
  const float poly = zc < 2.0f ? p : r;
  const float erfc = fast_expf(-zc * zc) * q * poly;
  return std::copysign(z < 1.0f ? small : 1.0f - erfc, x);
}

}  // namespace kn
