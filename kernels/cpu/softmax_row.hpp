// Row primitives of the softmax family on the CPU (softmax.cpp and
// cross_entropy.cpp): max, sum of exponentials and dot products over one
// strided row of n elements (stride in elements). Unit strides take 16-lane
// loops the compiler vectorises; sums accumulate in double in a fixed order.
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/internal/fast_exp.hpp"

namespace kn::cpu {

constexpr int64_t kLanes = 16;

template <typename T>
T row_max(int64_t n, const T* x, int64_t sx) {
  T lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) lanes[l] = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
  if (sx == 1) {
    for (; i + kLanes <= n; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  }
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t l = 0; l < kLanes; ++l) m = lanes[l] > m ? lanes[l] : m;
  for (; i < n; ++i) m = x[i * sx] > m ? x[i * sx] : m;
  return m;
}

// sum(exp(x - m)) in double; also stores the exponentials in y when y != nullptr.
template <typename T>
double row_sum_exp(int64_t n, const T* x, int64_t sx, T m, T* y, int64_t sy) {
  double lanes[kLanes] = {};
  int64_t i = 0;
  if (sx == 1 && y && sy == 1) {
    for (; i + kLanes <= n; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) {
        const T e = exp_of<T>(x[i + l] - m);
        y[i + l] = e;
        lanes[l] += double(e);
      }
  } else if (sx == 1 && !y) {
    for (; i + kLanes <= n; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += double(exp_of<T>(x[i + l] - m));
  }
  double sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; i < n; ++i) {
    const T e = exp_of<T>(x[i * sx] - m);
    if (y) y[i * sy] = e;
    sum += double(e);
  }
  return sum;
}

// sum(a) or sum(a * b) in double.
template <typename T>
double row_dot(int64_t n, const T* a, int64_t sa, const T* b, int64_t sb) {
  double lanes[kLanes] = {};
  int64_t i = 0;
  if (sa == 1 && (!b || sb == 1)) {
    if (b) {
      for (; i + kLanes <= n; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) lanes[l] += double(a[i + l]) * double(b[i + l]);
    } else {
      for (; i + kLanes <= n; i += kLanes)
        for (int64_t l = 0; l < kLanes; ++l) lanes[l] += double(a[i + l]);
    }
  }
  double sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; i < n; ++i) sum += b ? double(a[i * sa]) * double(b[i * sb]) : double(a[i * sa]);
  return sum;
}

}  // namespace kn::cpu
