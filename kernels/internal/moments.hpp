// Row statistics for the normalisation ops (layer_norm, group_norm; written
// so that batch_norm can share them): the mean and 1 / sqrt(var + eps) of a
// contiguous row, and the two sums their backward needs.
//
// Numerics: two passes over the row (it is in cache: the callers hand over
// one row of a few KB at a time), both summed in double in 16 fixed-order
// lanes: sum(x) -> mean, then sum((x - mean)^2) -> the biased variance. No
// E[x^2] - E[x]^2 cancellation, and float32 input loses nothing to the
// accumulation (torch's CPU kernel sums float32 in float). The lanes are
// plain arrays that GCC vectorises in the caller's SIMD clone; results do not
// depend on the thread count (one row is always summed by one thread in one
// order).
//
// An empty row (n = 0) gives mean 0 and rstd NaN, as torch.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace kn {

// Always inlined: vectorised for the caller's target (KN_SIMD_CLONES).
#define KN_MOMENTS_INLINE inline __attribute__((always_inline))

constexpr int64_t kMomentLanes = 16;

struct Moments {
  double mean;
  double rstd;  // 1 / sqrt(var + eps), var = sum((x - mean)^2) / n
};

// sum(x) in double.
template <typename T>
KN_MOMENTS_INLINE double row_sum(int64_t n, const T* x) {
  double lanes[kMomentLanes] = {};
  int64_t i = 0;
  for (; i + kMomentLanes <= n; i += kMomentLanes)
    for (int64_t l = 0; l < kMomentLanes; ++l) lanes[l] += double(x[i + l]);
  double s = 0;
  for (int64_t l = 0; l < kMomentLanes; ++l) s += lanes[l];
  for (; i < n; ++i) s += double(x[i]);
  return s;
}

// sum((x - c)^2) in double.
template <typename T>
KN_MOMENTS_INLINE double row_sum_sq_dev(int64_t n, const T* x, double c) {
  double lanes[kMomentLanes] = {};
  int64_t i = 0;
  for (; i + kMomentLanes <= n; i += kMomentLanes)
    for (int64_t l = 0; l < kMomentLanes; ++l) {
      const double d = double(x[i + l]) - c;
      lanes[l] += d * d;
    }
  double s = 0;
  for (int64_t l = 0; l < kMomentLanes; ++l) s += lanes[l];
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

// Mean and rstd of a contiguous row of n elements.
template <typename T>
KN_MOMENTS_INLINE Moments row_moments(int64_t n, const T* x, double eps) {
  if (n == 0) return {0.0, std::numeric_limits<double>::quiet_NaN()};
  const double mean = row_sum(n, x) / double(n);
  return {mean, rstd_of(row_sum_sq_dev(n, x, mean), n, eps)};
}

// The backward's sums over a contiguous row: s_g = sum(g), s_gd = sum(g (x - mean)),
// with g = dy * w (w == nullptr: g = dy), all in double.
template <typename T>
KN_MOMENTS_INLINE void row_grad_sums(int64_t n, const T* dy, const T* w, const T* x, double mean,
                                     double& s_g, double& s_gd) {
  double a[kMomentLanes] = {}, b[kMomentLanes] = {};
  int64_t i = 0;
  if (w) {
    for (; i + kMomentLanes <= n; i += kMomentLanes)
      for (int64_t l = 0; l < kMomentLanes; ++l) {
        const double g = double(dy[i + l]) * double(w[i + l]);
        a[l] += g;
        b[l] += g * (double(x[i + l]) - mean);
      }
  } else {
    for (; i + kMomentLanes <= n; i += kMomentLanes)
      for (int64_t l = 0; l < kMomentLanes; ++l) {
        const double g = double(dy[i + l]);
        a[l] += g;
        b[l] += g * (double(x[i + l]) - mean);
      }
  }
  s_g = 0, s_gd = 0;
  for (int64_t l = 0; l < kMomentLanes; ++l) s_g += a[l], s_gd += b[l];
  for (; i < n; ++i) {
    const double g = w ? double(dy[i]) * double(w[i]) : double(dy[i]);
    s_g += g;
    s_gd += g * (double(x[i]) - mean);
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
