// Vectorisable float tanh and erf for the element-wise CPU kernels (the
// compiler turns loops over them into SIMD code; std::tanh/std::erf(float)
// are libm calls per element). Both are branch-free: every lane computes
// both ranges and selects, so compile the caller with -fno-trapping-math
// (kernels/internal/elementwise.hpp's pragma, in the kernel files that include
// it first) for GCC to if-convert the selects.
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
//   fast_logf   Cephes logf: x = m 2^e, m in [sqrt(1/2), sqrt 2), log(m) by
//               f - f^2/2 + f^3 P(f), f = m - 1. Subnormals are scaled by 2^23
//               first. Max error 1 ulp on normal and subnormal x;
//               log(0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN propagates.
//   fast_log1pf log(1 + x) without cancellation for small x (Goldberg: with
//               w = 1 + x rounded, log(w) * x / (w - 1), exact when w == 1);
//               max error 2.2 ulp; log1p(-1) = -inf, x < -1 NaN.
//   fast_expm1f exp(x) - 1 without cancellation near 0: for |x| <= 1,
//               x = n ln2 + r (n in -1..1, |r| <= ln2 / 2), expm1(r) by
//               Cephes' expf polynomial without its leading 1, then
//               2^n expm1(r) + (2^n - 1) (exact scalings); beyond, fast_expf - 1.
//               Max error 2 ulp; expm1(-0) = -0, +inf -> inf, -inf -> -1,
//               NaN propagates.
// Errors measured against double std::tanh / std::erf / std::log on every
// 13th float in [-12, 12] (tests/cpp/test_internal.cpp checks fast_logf,
// fast_log1pf and fast_expm1f over all float exponents).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

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

inline float fast_logf(float x) {
  // Subnormal x: scale into the normal range (exact), and remember 23.
  const bool tiny = x < 1.17549435e-38f;
  const float xs = tiny ? x * 8388608.0f : x;
  int32_t bits;
  std::memcpy(&bits, &xs, 4);
  int32_t e = ((bits >> 23) & 0xff) - 126;  // xs = m 2^e, m in [0.5, 1)
  const int32_t mbits = (bits & 0x007fffff) | 0x3f000000;
  float m;
  std::memcpy(&m, &mbits, 4);
  // m in [sqrt(1/2), sqrt(2)): f = m - 1 small, either sign.
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1 : e;
  const float f = (low ? m + m : m) - 1.0f;
  const float fe = static_cast<float>(e) - (tiny ? 23.0f : 0.0f);
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  float r = f + y;
  r += 0.693359375f * fe;
  // Special values, selected (branch-free): +inf -> +inf, 0 -> -inf, x < 0 or NaN -> NaN.
  r = x == __builtin_inff() ? x : r;
  r = x == 0.0f ? -__builtin_inff() : r;
  r = x < 0.0f ? __builtin_nanf("") : r;
  return x != x ? x : r;
}

inline float fast_expm1f(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float big = fast_expf(x) - 1.0f;  // |x| > 1: no cancellation (-inf -> -1, inf -> inf)
  const float xs = std::fabs(x) > 1.0f ? 0.0f : x;  // the small path's argument (NaN stays NaN)
  const float n = (xs * kLog2e + kRound) - kRound;   // round(x log2 e): -1, 0 or 1
  const float r = (xs - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float em1 = p * r * r + r;  // expm1(r)
  const float s = n > 0.0f ? 2.0f : (n < 0.0f ? 0.5f : 1.0f);
  const float small = n == 0.0f ? em1 : s * em1 + (s - 1.0f);
  return std::fabs(x) > 1.0f ? big : (x == 0.0f ? x : small);  // x: keeps expm1(-0) = -0
}

inline float fast_log1pf(float x) {
  const float w = 1.0f + x;
  const float d = w - 1.0f;
  // d == 0: w rounded to 1, log1p(x) = x to within rounding. Else the ratio
  // x / d corrects log(w) for the rounding of 1 + x. w = inf: log(inf) = inf.
  const float r = fast_logf(w) * (x / (d == 0.0f ? 1.0f : d));
  return d == 0.0f ? x : (w == __builtin_inff() ? w : r);
}

}  // namespace kn
