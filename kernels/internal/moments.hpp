// Row statistics for the normalisation ops (layer_norm, group_norm; written
// so that batch_norm can share them): the mean and 1 / sqrt(var + eps) of a
// contiguous row, and the two sums their backward needs.
//
// Numerics: sums in double in 16 fixed-order lanes (two 8-double vectors,
// vectorised in the caller's SIMD clone): row_moments sums x - x[0] and its
// square in one pass (it says why the shift makes that sound), so float32
// input loses nothing to cancellation or to the accumulation (torch's CPU
// kernel sums float32 in float); row_sum / row_sum_sq_dev are the two-pass
// form for callers that hold a mean already. Results do not depend on the
// thread count (one row is always summed by one thread in one order).
//
// An empty row (n = 0) gives mean 0 and rstd NaN, as torch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace kn {

struct Moments {
  double mean;
  double rstd;  // 1 / sqrt(var + eps), var = sum((x - mean)^2) / n
};

// Always inlined: vectorised for the caller's target (KN_SIMD_CLONES).
#define KN_MOMENTS_INLINE inline __attribute__((always_inline))

// The sums run over blocks of 16 elements in two 8-double GCC vectors (lowered
// to the clone's widest registers: 2 zmm, 4 ymm or 8 xmm), a float block
// converted on load. Written with vector types, not 16-lane arrays: GCC's
// basic-block vectoriser left the array form of these loops half scalar
// (vcvtss2sd per element), at twice the cost.
typedef double MomentVec __attribute__((vector_size(64)));
constexpr int64_t kMomentBlock = 16;

// (Vectors are passed by reference: by value, a 64-byte vector changes the
// ABI between the clones, which GCC warns about.)
template <typename T>
KN_MOMENTS_INLINE void load8(const T* p, MomentVec& out) {
  typedef T V __attribute__((vector_size(8 * sizeof(T))));
  V v;
  std::memcpy(&v, p, sizeof v);
  out = __builtin_convertvector(v, MomentVec);
}

// The block of 16 at p minus c, in double: d0 = p[0..8) - c, d1 = p[8..16) - c.
template <typename T>
KN_MOMENTS_INLINE void load16_dev(const T* p, double c, MomentVec& d0, MomentVec& d1) {
  load8(p, d0);
  load8(p + 8, d1);
  d0 -= c;
  d1 -= c;
}

KN_MOMENTS_INLINE double hsum(const MomentVec& a, const MomentVec& b) {
  const MomentVec c = a + b;
  double s = 0;
  for (int l = 0; l < 8; ++l) s += c[l];
  return s;
}

// sum(x) in double.
template <typename T>
KN_MOMENTS_INLINE double row_sum(int64_t n, const T* x) {
  MomentVec a = {}, b = {};
  int64_t i = 0;
  for (; i + kMomentBlock <= n; i += kMomentBlock) {
    MomentVec v0, v1;
    load8(x + i, v0);
    load8(x + i + 8, v1);
    a += v0;
    b += v1;
  }
  double s = hsum(a, b);
  for (; i < n; ++i) s += double(x[i]);
  return s;
}

// sum((x - c)^2) in double.
template <typename T>
KN_MOMENTS_INLINE double row_sum_sq_dev(int64_t n, const T* x, double c) {
  MomentVec a = {}, b = {};
  int64_t i = 0;
  for (; i + kMomentBlock <= n; i += kMomentBlock) {
    MomentVec d0, d1;
    load16_dev(x + i, c, d0, d1);
    a += d0 * d0;
    b += d1 * d1;
  }
  double s = hsum(a, b);
  for (; i < n; ++i) {
    const double d = double(x[i]) - c;
    s += d * d;
  }
  return s;
}

// rstd from a sum of squared deviations over n elements.
inline double rstd_of(double sum_sq_dev, int64_t n, double eps) {
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 / std::sqrt(sum_sq_dev / double(n) + eps);
}

// Mean and rstd of a contiguous row of n elements, in one pass: the sums of
// d = x - x[0] and of d^2 in double, var = (sum d^2 - (sum d)^2 / n) / n.
// Shifting by an element of the row bounds the cancellation: (mean - x[0])^2
// <= n var, so the subtraction loses at most a factor n of double's precision
// (n = 10^6: var to 1e-10 relative), far below float32's rounding, and half
// the work of two passes.
template <typename T>
KN_MOMENTS_INLINE Moments row_moments(int64_t n, const T* x, double eps) {
  if (n == 0) return {0.0, std::numeric_limits<double>::quiet_NaN()};
  const double c = double(x[0]);
  MomentVec a0 = {}, a1 = {}, b0 = {}, b1 = {};
  int64_t i = 0;
  for (; i + kMomentBlock <= n; i += kMomentBlock) {
    MomentVec d0, d1;
    load16_dev(x + i, c, d0, d1);
    a0 += d0;
    a1 += d1;
    b0 += d0 * d0;
    b1 += d1 * d1;
  }
  double s = hsum(a0, a1), ss = hsum(b0, b1);
  for (; i < n; ++i) {
    const double d = double(x[i]) - c;
    s += d;
    ss += d * d;
  }
  const double dm = s / double(n);
  const double var = std::max(0.0, ss / double(n) - dm * dm);
  return {c + dm, 1.0 / std::sqrt(var + eps)};
}

// The backward's sums over a contiguous row: s_g = sum(g), s_gd = sum(g (x - mean)),
// with g = dy * w (w == nullptr: g = dy). g and x - mean are formed in T (one
// rounding each, as the row's dx is); the sums run in T in 16 lanes over
// blocks of at most 64 x 16 elements (a bounded error: at most 64 additions per
// lane), each block's lanes then added into double.
template <typename T>
KN_MOMENTS_INLINE void row_grad_sums(int64_t n, const T* dy, const T* w, const T* x, T mean,
                                     double& s_g, double& s_gd) {
  typedef T V __attribute__((vector_size(16 * sizeof(T))));
  constexpr int64_t kBlockIters = 64;
  s_g = 0, s_gd = 0;
  int64_t i = 0;
  while (i + 16 <= n) {
    V a = {}, b = {};
    const int64_t end = std::min(n - 15, i + kBlockIters * 16);
    for (; i < end; i += 16) {
      V g, xv;
      std::memcpy(&g, dy + i, sizeof g);
      std::memcpy(&xv, x + i, sizeof xv);
      if (w) {
        V wv;
        std::memcpy(&wv, w + i, sizeof wv);
        g *= wv;
      }
      a += g;
      b += g * (xv - mean);
    }
    for (int l = 0; l < 16; ++l) s_g += double(a[l]), s_gd += double(b[l]);
  }
  for (; i < n; ++i) {
    const T g = w ? dy[i] * w[i] : dy[i];
    s_g += double(g);
    s_gd += double(g) * double(x[i] - mean);
  }
}

// The input-gradient coefficients of a row of n elements from its sums:
//   dx = rstd (g - s_g / n - xhat s_gd rstd / n) = rstd g + c2 (x - mean) + c3
// (x - mean) rather than x, so that c2 x and c3 do not cancel when |mean| >> std.
struct GradCoefficients {
  double c2, c3;
};
inline GradCoefficients grad_coefficients(int64_t n, double rstd, double s_g, double s_gd) {
  if (n == 0) return {0.0, 0.0};
  return {-rstd * rstd * rstd * s_gd / double(n), -rstd * s_g / double(n)};
}

}  // namespace kn
