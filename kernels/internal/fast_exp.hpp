// A vectorisable float exp for the softmax-family CPU kernels (the compiler
// turns loops over it into SIMD code; std::exp(float) is a libm call per
// element). Cephes' expf polynomial after a range reduction
// x = n ln2 + r, |r| <= ln2/2; 2^n is built from two exponent-field halves so
// results down into the subnormal range are right. Max error about 2 ulp over
// [-103, 88]; below about -103.9 it returns 0 (as expf); NaN propagates;
// x above about 88.3 gives +inf (softmax only evaluates it at x <= 0).
//
// Used by softmax, the losses and every float exp_t (kernels/internal/math.hpp).
#pragma once

#include <cstdint>
#include <cstring>

namespace kn {

inline float fast_expf(float x) {
  constexpr float kHi = 88.7228393f;
  constexpr float kZero = -104.0f;  // exp(-104) = 0.97 * 2^-150: rounds to 0
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  // Below kZero, exp(x) < 2^-150 rounds to 0, which is what the steps below
  // return there; but their last multiply would underflow to that 0, and an
  // underflowing instruction takes a microcode assist on Intel cores (~150
  // cycles): a softmax row with masked (-inf) entries ran 5x torch's time on
  // an Intel Xeon. So those lanes compute exp(0) and are selected to 0 at the
  // end: the same bits, no underflow. (Results in [2^-150, 2^-126), x in
  // [-104, -87.3], are still subnormal and still assisted: rare.)
  const bool zero = x < kZero;
  x = zero ? 0.0f : x;
  // Clamp above (NaN compares false everywhere and stays NaN). Nothing is left
  // below kZero to clamp: a clamp at -110 here was redundant and cost 13% of
  // softmax forward (64x1000 in cache, Intel Xeon model 167: 37.8 -> 32.9 us,
  // torch 33.4; 4096x1000 on 2 threads 1.16 -> 1.07x torch).
  x = x > kHi ? kHi : x;
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;  // round(x log2 e)
  int32_t ti;
  std::memcpy(&ti, &t, 4);
  const int32_t ni = ti - 0x4B400000;  // the integer n (bits of t minus bits of kRound)
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n = 2^(n/2) * 2^(n - n/2): each factor a normal float for n in [-159, 128].
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const uint32_t b1 = static_cast<uint32_t>(n1 + 127) << 23;
  const uint32_t b2 = static_cast<uint32_t>(n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  return zero ? 0.0f : p * s1 * s2;
}

// exp in T's precision: fast_expf for float, std::exp for double.
template <typename T>
inline T exp_of(T x);
template <>
inline float exp_of<float>(float x) { return fast_expf(x); }
template <>
inline double exp_of<double>(double x) { return __builtin_exp(x); }

}  // namespace kn
