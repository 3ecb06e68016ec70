// Per-plane CPU helpers of the 2-D pooling ops (pool2d.cpp: max/avg_pool2d,
// adaptive_pool2d.cpp: adaptive_avg/max_pool2d), written once:
//
//   kPoolGrain, plane_grain   how many (n, c) planes one thread takes
//   takes_max                 torch's running-maximum rule (a NaN wins)
//   zero_plane                dx = 0 over one (H, W) plane, any strides
//   max_backward_plane        the max backward's per-plane scatter of dy
//                             through the saved flat indices h W + w
//
// Shapes: x, dx:(N,C,H,W); y, dy, indices:(N,C,Ho,Wo). Threads own whole
// (n, c) planes, so the scatter is race-free and each dx element receives its
// contributions in (oh, ow) order whatever the thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/internal/error.hpp"
#include "kernels/internal/tensor.hpp"

namespace kn::cpu {

// Work per thread below which splitting the planes does not pay.
constexpr int64_t kPoolGrain = 16384;

// Planes per thread for a parallel_for over N*C with one (H, W) plane of `big`
// and one of `small` per item. Saturated: one of the two may be a broadcast
// view whose plane has more than int64 elements in all.
inline int64_t plane_grain(const kn_tensor& big, const kn_tensor& small) {
  int64_t a, b, work;
  if (__builtin_mul_overflow(big.shape[2], big.shape[3], &a)) a = INT64_MAX;
  if (__builtin_mul_overflow(small.shape[2], small.shape[3], &b)) b = INT64_MAX;
  if (__builtin_add_overflow(a, b, &work)) work = INT64_MAX;
  return std::max<int64_t>(1, kPoolGrain / std::max<int64_t>(1, work));
}

// v replaces the running maximum m: greater, or NaN (torch's rule).
template <typename T>
inline bool takes_max(T v, T m) {
  return v > m || v != v;
}

// Sets every element of a (H, W) plane to 0.
template <typename T>
void zero_plane(T* d, int64_t sh, int64_t sw, int64_t H, int64_t W) {
  if (sw == 1 && sh == W) {
    std::fill(d, d + H * W, T(0));
    return;
  }
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w) d[h * sh + w * sw] = T(0);
}

// Max backward of plane q = n*C + c: d (H, W) = 0, then d[i] += g[oh, ow] for
// each (oh, ow) of the (Ho, Wo) plane in order, i = ip[oh, ow] (-1: an empty
// window, skipped). Any other index outside [0, H*W) throws, naming `op`.
template <typename T, typename I>
void max_backward_plane(const char* op, const T* g, int64_t gsh, int64_t gsw, const I* ip,
                        int64_t ish, int64_t isw, T* d, int64_t dsh, int64_t dsw, int64_t H,
                        int64_t W, int64_t Ho, int64_t Wo, int64_t q, int64_t C) {
  const int64_t HW = H * W;
  zero_plane(d, dsh, dsw, H, W);
  const bool dense = dsw == 1 && dsh == W;
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const int64_t i = static_cast<int64_t>(ip[oh * ish + ow * isw]);
      if (i == -1) continue;
      if (i < 0 || i >= HW)
        fail(KN_ERR_INVALID_ARGUMENT, op, ": indices: value ", i, " at (n, c, oh, ow) = (", q / C,
             ", ", q % C, ", ", oh, ", ", ow, ") is outside [0, H*W = ", HW, ")");
      const T v = g[oh * gsh + ow * gsw];
      if (dense)
        d[i] += v;
      else
        d[(i / W) * dsh + (i % W) * dsw] += v;
    }
}

}  // namespace kn::cpu
