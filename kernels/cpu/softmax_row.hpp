// Row primitives of the softmax family on the CPU (softmax.cpp and
// cross_entropy.cpp): max, sum of exponentials and dot products over one
// strided row of n elements (stride in elements). Unit strides take 16-lane
// loops the compiler vectorises; sums accumulate in double in a fixed order
// (row_sum_exp: float partials over 16 elements per lane, then double).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/internal/fast_exp.hpp"

namespace kn::cpu {

constexpr int64_t kLanes = 16;

// Always inlined, so that they are vectorised for the caller's target: the
// row functions of softmax.cpp are compiled as AVX-512/AVX2/baseline clones
// (KN_SIMD_CLONES), and a call to a separate baseline copy would run SSE.
#define KN_ROW_INLINE inline __attribute__((always_inline))

// The 16 lanes as one GCC vector (lowered to the clone's widest registers): GCC does
// not vectorise the array form of this max (its select is not a MAX_EXPR without
// -ffinite-math-only), and the scalar loop was a quarter of softmax's time.
template <typename T>
KN_ROW_INLINE T row_max(int64_t n, const T* x, int64_t sx) {
  typedef T Lanes __attribute__((vector_size(kLanes * sizeof(T))));
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  Lanes lanes;
  for (int64_t l = 0; l < kLanes; ++l) lanes[l] = kNegInf;
  int64_t i = 0;
  if (sx == 1) {
    for (; i + kLanes <= n; i += kLanes) {
      Lanes v;
      std::memcpy(&v, x + i, sizeof(Lanes));
      lanes = v > lanes ? v : lanes;
    }
  }
  T m = kNegInf;
  for (int64_t l = 0; l < kLanes; ++l) m = lanes[l] > m ? lanes[l] : m;
  for (; i < n; ++i) m = x[i * sx] > m ? x[i * sx] : m;
  return m;
}

// sum(exp(x - m)) in double; also stores the exponentials in y when y != nullptr.
// Chunks of kChunk: exponentials into y (unit stride) or a stack buffer in
// one simple loop (vectorised), then summed into 16 double lanes.
template <typename T>
KN_ROW_INLINE double row_sum_exp(int64_t n, const T* x, int64_t sx, T m, T* y, int64_t sy) {
  constexpr int64_t kChunk = 256;
  T buf[kChunk];
  double lanes[kLanes] = {};
  double tail = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t len = std::min(kChunk, n - i0);
    T* e = y && sy == 1 ? y + i0 : buf;
    const T* xs = x + i0 * sx;
    if (sx == 1) {
      for (int64_t i = 0; i < len; ++i) e[i] = exp_of<T>(xs[i] - m);
    } else {
      for (int64_t i = 0; i < len; ++i) e[i] = exp_of<T>(xs[i * sx] - m);
    }
    if (y && sy != 1)
      for (int64_t i = 0; i < len; ++i) y[(i0 + i) * sy] = e[i];
    // The chunk's exponentials (each in [0, 1]) into 16 lanes in T, then the lanes
    // into the double lanes: a float lane sums at most kChunk / 16 = 16 values, so
    // its rounding is ~16 ulp of the chunk's sum at most, and the row's sum stays
    // within ~1e-6 of the exact value (torch sums in float over the whole row).
    // One double addition per 16 elements per lane instead of one per element
    // (Intel Xeon model 167, softmax forward of 64x1000 in cache, one thread:
    // 39.5 -> 37.8 us, torch 32-34).
    T part[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= len; i += kLanes)
      for (int64_t l = 0; l < kLanes; ++l) part[l] += e[i + l];
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += double(part[l]);
    for (; i < len; ++i) tail += double(e[i]);
  }
  double sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum + tail;
}

// sum(a) or sum(a * b), returned in double. Unit strides: chunks of kChunk elements
// summed in T by four independent 16-lane accumulators (each lane of each
// accumulator adds kChunk / 64 = 4 values; the four are then added, so a lane's
// chunk sum has ~16 roundings in T at most: within ~1e-6 of the exact row sum for
// float, as row_sum_exp), each chunk's lanes then added into 16 double lanes, in a
// fixed order. Before this the products were widened to double one by one, on one
// accumulator chain per lane: softmax backward 4096x1000 1120 us against torch's
// 988 (kernel alone, 2 threads, Intel Xeon model 167; -> 1047 against 951).
template <typename T>
KN_ROW_INLINE double row_dot(int64_t n, const T* a, int64_t sa, const T* b, int64_t sb) {
  typedef T Lanes __attribute__((vector_size(kLanes * sizeof(T))));
  constexpr int64_t kChunk = 4 * 4 * kLanes;  // 4 accumulators x 4 vectors
  double lanes[kLanes] = {};
  int64_t i = 0;
  if (sa == 1 && (!b || sb == 1)) {
    // acc += a[at..] (* b[at..]); by reference: a vector return value would change the
    // ABI of the baseline clone (-Wpsabi).
    auto add = [&](Lanes& acc, int64_t at) __attribute__((always_inline)) {
      Lanes va;
      std::memcpy(&va, a + at, sizeof(Lanes));
      if (b) {
        Lanes vb;
        std::memcpy(&vb, b + at, sizeof(Lanes));
        va *= vb;
      }
      acc += va;
    };
    for (; i + kChunk <= n; i += kChunk) {
      Lanes p0 = {}, p1 = {}, p2 = {}, p3 = {};
      for (int64_t j = i; j < i + kChunk; j += 4 * kLanes) {
        add(p0, j);
        add(p1, j + kLanes);
        add(p2, j + 2 * kLanes);
        add(p3, j + 3 * kLanes);
      }
      const Lanes p = (p0 + p1) + (p2 + p3);
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += double(p[l]);
    }
    for (; i + kLanes <= n; i += kLanes) {
      Lanes p = {};
      add(p, i);
      for (int64_t l = 0; l < kLanes; ++l) lanes[l] += double(p[l]);
    }
  }
  double sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; i < n; ++i) sum += b ? double(a[i * sa]) * double(b[i * sb]) : double(a[i * sa]);
  return sum;
}

}  // namespace kn::cpu
