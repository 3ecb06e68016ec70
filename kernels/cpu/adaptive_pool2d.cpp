// 2-D adaptive average and max pooling on the CPU, as torch.nn.functional.
//
// Shapes: x, dx:(N,C,H,W); y, dy, indices:(N,C,Ho,Wo); any strides (outputs
// non-overlapping: validated). Output row oh pools the input rows
// [floor(oh H / Ho), ceil((oh + 1) H / Ho)), columns likewise (torch's bins).
//
//   avg forward:  y[oh,ow]  = sum of x over the bin / (bin height * bin width)
//   avg backward: dx[h,w]   = sum over the bins (oh, ow) containing (h, w), in
//                             (oh, ow) order, of dy[oh,ow] / (bin height * bin width):
//                             a GATHER over input pixels (the CUDA kernel gathers in
//                             the same order: bitwise-equal results), so no
//                             two threads ever write one element.
//   max forward:  y[oh,ow]  = max over the bin, indices = its flat h W + w (first
//                             max wins ties, a NaN wins: the last NaN of the bin)
//   max backward: dx[i]     = sum of dy[o] over the o with indices[o] == i, in (oh, ow)
//                             order (a per-plane scatter; threads own whole planes)
//
// Threads own whole (n, c) planes (parallel_for over N*C), except in the
// channels-last paths, where they own (n, oh, ow, channel block) outputs (or
// batch rows, the global average's backward): every output element is always
// summed in one fixed order, so the bits do not depend on the thread count.
//
// Fast paths: for the global average (Ho = Wo = 1, a ResNet head), contiguous
// planes (NCHW) sum in 8 independent lanes (vectorised, combined in a fixed
// order); channels-last (NHWC) inputs, avg and max forwards at any output size,
// run a block of channels at once with unit-stride vector operations, in the
// planar loop's order (the same bits as the planar path).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/cpu/pool_planes.hpp"
#include "kernels/ops/adaptive_pool2d.hpp"

namespace kn::cpu {
namespace {

// The bin of output o of `out` over an input of `in` (validation guarantees
// (out) * (in + 1) fits in int64).
struct Bin {
  int64_t lo, hi;
};
inline Bin bin(int64_t o, int64_t in, int64_t out) {
  return {(o * in) / out, ((o + 1) * in + out - 1) / out};
}
std::vector<Bin> bins(int64_t in, int64_t out) {
  std::vector<Bin> b(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) b[o] = bin(o, in, out);
  return b;
}
// For each input position, the outputs [lo, hi) whose bins contain it
// (contiguous: both bin ends are non-decreasing in o).
std::vector<Bin> covering(int64_t in, int64_t out) {
  std::vector<Bin> c(static_cast<size_t>(in), Bin{out, 0});
  for (int64_t o = 0; o < out; ++o) {
    const Bin b = bin(o, in, out);
    for (int64_t i = b.lo; i < b.hi; ++i) c[i].lo = std::min(c[i].lo, o), c[i].hi = std::max(c[i].hi, o + 1);
  }
  return c;
}

// Walks the (n, c) planes from flat plane index q on, without dividing per plane
// (two integer divisions per plane per tensor cost as much as a 7x7 plane's sum).
struct PlaneWalk {
  int64_t n, c, C;
  PlaneWalk(int64_t q, int64_t channels) : n(q / channels), c(q % channels), C(channels) {}
  template <typename T>
  T* at(const kn_tensor& t) const {
    return data_as<T>(t) + n * t.strides[0] + c * t.strides[1];
  }
  void next() {
    if (++c == C) c = 0, ++n;
  }
};

// Sum of n contiguous elements: 8 lanes (kept in registers: two SSE / one AVX
// vector), a sequential tail, then the lanes combined in a fixed tree order.
template <typename T>
T lane_sum(const T* x, int64_t n) {
  constexpr int kLanes = 8;
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  T tail(0);
  for (; i < n; ++i) tail += x[i];
  return (((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))) + tail;
}

// Channels-last: x viewed as (N, P = H W, C) with unit channel stride.
bool channels_last(const kn_tensor& t) {
  const int64_t C = t.shape[1], W = t.shape[3];
  return C > 1 && t.strides[1] == 1 && t.strides[3] == C && t.strides[2] == W * C;
}

constexpr int64_t kChannelBlock = 256;

// One bin of a channels-last plane for a block of nc channels (xp: the block's
// first channel at pixel 0), in (ih, iw) order: AVX-512 / AVX2 / baseline clones.
template <typename T>
KN_SIMD_CLONES void sum_bin_nhwc(const T* xp, int64_t W, int64_t C, Bin h, Bin w, T* acc, int64_t nc) {
  for (int64_t c = 0; c < nc; ++c) acc[c] = T(0);
  for (int64_t ih = h.lo; ih < h.hi; ++ih)
    for (int64_t iw = w.lo; iw < w.hi; ++iw) {
      const T* px = xp + (ih * W + iw) * C;
      for (int64_t c = 0; c < nc; ++c) acc[c] += px[c];
    }
}

// The winning tap as an int32 count within the bin (a 64-bit index in the same
// loop keeps GCC from vectorising it); first max wins, a NaN wins (the last).
template <typename T>
KN_SIMD_CLONES void max_bin_nhwc(const T* xp, int64_t W, int64_t C, Bin h, Bin w, T* m, int32_t* at,
                                 int64_t nc) {
  for (int64_t c = 0; c < nc; ++c) m[c] = -std::numeric_limits<T>::infinity(), at[c] = 0;
  int32_t k = 0;
  for (int64_t ih = h.lo; ih < h.hi; ++ih)
    for (int64_t iw = w.lo; iw < w.hi; ++iw, ++k) {
      const T* px = xp + (ih * W + iw) * C;
      for (int64_t c = 0; c < nc; ++c) {
        const T v = px[c];
        const bool t = (v > m[c]) | (v != v);
        m[c] = t ? v : m[c];
        at[c] = t ? k : at[c];
      }
    }
}

// Channels-last input, any output size: one task per (n, oh, ow, block of
// channels); each channel's bin is summed in (ih, iw) order, as the planar
// loop does (the same bits), with unit-stride vector adds across the block.
template <typename T>
void avg_nhwc(const kn_tensor& x, const kn_tensor& y, const std::vector<Bin>& bh,
              const std::vector<Bin>& bw, int threads) {
  const int64_t N = x.shape[0], C = x.shape[1], W = x.shape[3], Ho = y.shape[2], Wo = y.shape[3];
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t bin = static_cast<int64_t>(std::min<__int128>(INT32_MAX, __int128(x.shape[2] / Ho + 2) * (W / Wo + 2)));
  const int64_t grain = std::max<int64_t>(1, kPoolGrain / std::max<int64_t>(1, bin * std::min(C, kChannelBlock)));
  parallel_for(N * Ho * Wo * blocks, grain, threads, [&](int64_t b, int64_t e) {
    T acc[kChannelBlock];
    for (int64_t q = b; q < e; ++q) {
      const int64_t cb = q % blocks, ow = (q / blocks) % Wo, oh = (q / blocks / Wo) % Ho,
                    n = q / blocks / Wo / Ho;
      const int64_t c0 = cb * kChannelBlock, nc = std::min(kChannelBlock, C - c0);
      const Bin h = bh[oh], w = bw[ow];
      const T* xp = data_as<const T>(x) + n * x.strides[0] + c0;
      sum_bin_nhwc(xp, W, C, h, w, acc, nc);
      const T area = T((h.hi - h.lo) * (w.hi - w.lo));
      T* yp = data_as<T>(y) + n * y.strides[0] + c0 * y.strides[1] + oh * y.strides[2] + ow * y.strides[3];
      const int64_t ys = y.strides[1];
      for (int64_t c = 0; c < nc; ++c) yp[c * ys] = acc[c] / area;
    }
  });
}

// The same for max pooling: per channel the planar loop's (ih, iw) order and
// rule (greater, or NaN), branch-free across the block.
template <typename T, typename I>
void max_nhwc(const kn_tensor& x, const kn_tensor& y, const kn_tensor& indices,
              const std::vector<Bin>& bh, const std::vector<Bin>& bw, int threads) {
  const int64_t N = x.shape[0], C = x.shape[1], W = x.shape[3], Ho = y.shape[2], Wo = y.shape[3];
  const int64_t blocks = (C + kChannelBlock - 1) / kChannelBlock;
  const int64_t bin = static_cast<int64_t>(std::min<__int128>(INT32_MAX, __int128(x.shape[2] / Ho + 2) * (W / Wo + 2)));
  const int64_t grain = std::max<int64_t>(1, kPoolGrain / std::max<int64_t>(1, bin * std::min(C, kChannelBlock)));
  parallel_for(N * Ho * Wo * blocks, grain, threads, [&](int64_t b, int64_t e) {
    // (bins of more than INT32_MAX taps take the planar path: see the caller)
    T m[kChannelBlock];
    int32_t at[kChannelBlock];
    for (int64_t q = b; q < e; ++q) {
      const int64_t cb = q % blocks, ow = (q / blocks) % Wo, oh = (q / blocks / Wo) % Ho,
                    n = q / blocks / Wo / Ho;
      const int64_t c0 = cb * kChannelBlock, nc = std::min(kChannelBlock, C - c0);
      const Bin h = bh[oh], w = bw[ow];
      const int64_t wlen = w.hi - w.lo;
      const T* xp = data_as<const T>(x) + n * x.strides[0] + c0;
      max_bin_nhwc(xp, W, C, h, w, m, at, nc);
      const int64_t off_y = n * y.strides[0] + oh * y.strides[2] + ow * y.strides[3];
      const int64_t off_i = n * indices.strides[0] + oh * indices.strides[2] + ow * indices.strides[3];
      T* yp = data_as<T>(y) + off_y + c0 * y.strides[1];
      I* ip = data_as<I>(indices) + off_i + c0 * indices.strides[1];
      for (int64_t c = 0; c < nc; ++c) {
        yp[c * y.strides[1]] = m[c];
        ip[c * indices.strides[1]] = static_cast<I>((h.lo + at[c] / wlen) * W + w.lo + at[c] % wlen);
      }
    }
  });
}

template <typename T>
void global_avg_backward_nhwc(const kn_tensor& dy, const kn_tensor& dx, int threads) {
  const int64_t N = dx.shape[0], C = dx.shape[1], P = dx.shape[2] * dx.shape[3];
  const T div = T(P);
  const int64_t grain = std::max<int64_t>(1, kPoolGrain / std::max<int64_t>(1, C));
  parallel_for(N * P, grain, threads, [&](int64_t b, int64_t e) {
    std::vector<T> v(static_cast<size_t>(C));
    int64_t cached = -1;
    for (int64_t q = b; q < e; ++q) {
      const int64_t n = q / P, p = q % P;
      if (n != cached) {
        const T* g = data_as<const T>(dy) + n * dy.strides[0];
        for (int64_t c = 0; c < C; ++c) v[c] = T(0) + g[c * dy.strides[1]] / div;
        cached = n;
      }
      std::copy(v.begin(), v.end(), data_as<T>(dx) + n * dx.strides[0] + p * C);
    }
  });
}

}  // namespace

void adaptive_avg_pool2d_forward(const kn_tensor& x, const kn_tensor& y, const CpuContext& ctx) {
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t NC = y.shape[0] * y.shape[1], Ho = y.shape[2], Wo = y.shape[3];
  if (numel(y) == 0) return;  // N * C, Ho * Wo fit from here on; H, W >= 1
  dispatch_float(x.dtype, "kn_adaptive_avg_pool2d_forward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t xsh = x.strides[2], xsw = x.strides[3];
    const auto bh = bins(H, Ho), bw = bins(W, Wo);
    if (channels_last(x)) {
      avg_nhwc<T>(x, y, bh, bw, ctx.num_threads);
      return;
    }
    const bool global_dense = Ho == 1 && Wo == 1 && xsw == 1 && (xsh == W || H == 1);
    if (global_dense) {  // one contiguous plane per output: (n, c) stepped, not divided out
      const T area = T(H * W);
      parallel_for(NC, plane_grain(x, y), ctx.num_threads, [&](int64_t b, int64_t e) {
        int64_t n = b / C, c = b % C;
        for (int64_t q = b; q < e; ++q) {
          const T* xp = data_as<const T>(x) + n * x.strides[0] + c * x.strides[1];
          data_as<T>(y)[n * y.strides[0] + c * y.strides[1]] = lane_sum(xp, H * W) / area;
          if (++c == C) c = 0, ++n;
        }
      });
      return;
    }
    parallel_for(NC, plane_grain(x, y), ctx.num_threads, [&](int64_t b, int64_t e) {
      const int64_t ysh = y.strides[2], ysw = y.strides[3];
      PlaneWalk pw(b, C);
      for (int64_t q = b; q < e; ++q, pw.next()) {
        const T* xp = pw.at<const T>(x);
        T* yp = pw.at<T>(y);
        for (int64_t oh = 0; oh < Ho; ++oh) {
          const Bin h = bh[oh];
          for (int64_t ow = 0; ow < Wo; ++ow) {
            const Bin w = bw[ow];
            T sum(0);
            for (int64_t ih = h.lo; ih < h.hi; ++ih) {
              const T* row = xp + ih * xsh;
              for (int64_t iw = w.lo; iw < w.hi; ++iw) sum += row[iw * xsw];
            }
            yp[oh * ysh + ow * ysw] = sum / T((h.hi - h.lo) * (w.hi - w.lo));
          }
        }
      }
    });
  });
}

void adaptive_avg_pool2d_backward(const kn_tensor& dy, const kn_tensor& dx, const CpuContext& ctx) {
  const int64_t C = dx.shape[1], H = dx.shape[2], W = dx.shape[3];
  const int64_t NC = dx.shape[0] * dx.shape[1], Ho = dy.shape[2], Wo = dy.shape[3];
  if (numel(dx) == 0) return;  // validation: Ho, Wo >= 1 here
  dispatch_float(dx.dtype, "kn_adaptive_avg_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    if (Ho == 1 && Wo == 1 && channels_last(dx)) {
      global_avg_backward_nhwc<T>(dy, dx, ctx.num_threads);
      return;
    }
    const auto bh = bins(H, Ho), bw = bins(W, Wo);
    const auto ch = covering(H, Ho), cw = covering(W, Wo);
    parallel_for(NC, plane_grain(dx, dy), ctx.num_threads, [&](int64_t b, int64_t e) {
      const int64_t gsh = dy.strides[2], gsw = dy.strides[3], dsh = dx.strides[2], dsw = dx.strides[3];
      // Per plane: qv = dy / bin area (each quotient computed once, the same
      // value the CUDA kernel computes per term), and for an input row inside
      // one bin row only, that row's gathered values (expanded once per bin row,
      // copied to each of its input rows). Rows shared by two bin rows sum in
      // the general (oh, ow) order. Every element gets the same sum, in the same
      // order, as the plain gather: the bits do not change.
      std::vector<T> qv(static_cast<size_t>(Ho * Wo)), expanded(static_cast<size_t>(W));
      PlaneWalk pw(b, C);
      for (int64_t q = b; q < e; ++q, pw.next()) {
        const T* g = pw.at<const T>(dy);
        T* d = pw.at<T>(dx);
        if (Ho == 1 && Wo == 1) {  // one bin: the same value everywhere
          const T v = T(0) + g[0] / T(H * W);
          for (int64_t h = 0; h < H; ++h) {
            T* row = d + h * dsh;
            if (dsw == 1)
              std::fill(row, row + W, v);
            else
              for (int64_t w = 0; w < W; ++w) row[w * dsw] = v;
          }
          continue;
        }
        for (int64_t oh = 0; oh < Ho; ++oh) {
          const int64_t kh = bh[oh].hi - bh[oh].lo;
          for (int64_t ow = 0; ow < Wo; ++ow)
            qv[oh * Wo + ow] = g[oh * gsh + ow * gsw] / T(kh * (bw[ow].hi - bw[ow].lo));
        }
        int64_t expanded_oh = -1;
        for (int64_t h = 0; h < H; ++h) {
          const Bin oh_range = ch[h];
          T* row = d + h * dsh;
          if (oh_range.hi - oh_range.lo == 1) {
            const int64_t oh = oh_range.lo;
            if (oh != expanded_oh) {
              const T* qr = qv.data() + oh * Wo;
              for (int64_t w = 0; w < W; ++w) {
                T sum(0);
                for (int64_t ow = cw[w].lo; ow < cw[w].hi; ++ow) sum += qr[ow];
                expanded[w] = sum;
              }
              expanded_oh = oh;
            }
            if (dsw == 1)
              std::copy(expanded.begin(), expanded.end(), row);
            else
              for (int64_t w = 0; w < W; ++w) row[w * dsw] = expanded[w];
            continue;
          }
          for (int64_t w = 0; w < W; ++w) {
            const Bin ow_range = cw[w];
            T sum(0);
            for (int64_t oh = oh_range.lo; oh < oh_range.hi; ++oh) {
              const T* qr = qv.data() + oh * Wo;
              for (int64_t ow = ow_range.lo; ow < ow_range.hi; ++ow) sum += qr[ow];
            }
            row[w * dsw] = sum;
          }
        }
      }
    });
  });
}

void adaptive_max_pool2d_forward(const kn_tensor& x, const kn_tensor& y, const kn_tensor& indices,
                                 const CpuContext& ctx) {
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t NC = y.shape[0] * y.shape[1], Ho = y.shape[2], Wo = y.shape[3];
  if (numel(y) == 0) return;
  const auto bh = bins(H, Ho), bw = bins(W, Wo);
  dispatch_float(x.dtype, "kn_adaptive_max_pool2d_forward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, "kn_adaptive_max_pool2d_forward", [&](auto itag) {
      using I = decltype(itag);
      if (channels_last(x) && __int128(H / Ho + 2) * (W / Wo + 2) <= INT32_MAX) {  // bins fit int32 tap counts
        max_nhwc<T, I>(x, y, indices, bh, bw, ctx.num_threads);
        return;
      }
      parallel_for(NC, plane_grain(x, y), ctx.num_threads, [&](int64_t b, int64_t e) {
        const int64_t xsh = x.strides[2], xsw = x.strides[3], ysh = y.strides[2], ysw = y.strides[3];
        const int64_t ish = indices.strides[2], isw = indices.strides[3];
        PlaneWalk pw(b, C);
        for (int64_t q = b; q < e; ++q, pw.next()) {
          const T* xp = pw.at<const T>(x);
          T* yp = pw.at<T>(y);
          I* ip = pw.at<I>(indices);
          for (int64_t oh = 0; oh < Ho; ++oh) {
            const Bin h = bh[oh];
            for (int64_t ow = 0; ow < Wo; ++ow) {
              const Bin w = bw[ow];
              T m = -std::numeric_limits<T>::infinity();
              int64_t at = h.lo * W + w.lo;
              for (int64_t ih = h.lo; ih < h.hi; ++ih) {
                const T* row = xp + ih * xsh;
                for (int64_t iw = w.lo; iw < w.hi; ++iw) {
                  const T v = row[iw * xsw];
                  if (takes_max(v, m)) m = v, at = ih * W + iw;
                }
              }
              yp[oh * ysh + ow * ysw] = m;
              ip[oh * ish + ow * isw] = static_cast<I>(at);
            }
          }
        }
      });
    });
  });
}

void adaptive_max_pool2d_backward(const kn_tensor& dy, const kn_tensor& indices, const kn_tensor& dx,
                                  const CpuContext& ctx) {
  const int64_t C = dx.shape[1], H = dx.shape[2], W = dx.shape[3];
  const int64_t NC = dx.shape[0] * dx.shape[1], Ho = dy.shape[2], Wo = dy.shape[3];
  if (numel(dx) == 0) return;  // validation: H, W, C, Ho, Wo >= 1, so only N = 0 here
  dispatch_float(dx.dtype, "kn_adaptive_max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, "kn_adaptive_max_pool2d_backward", [&](auto itag) {
      using I = decltype(itag);
      parallel_for(NC, plane_grain(dx, dy), ctx.num_threads, [&](int64_t b, int64_t e) {
        PlaneWalk pw(b, C);
        for (int64_t q = b; q < e; ++q, pw.next())
          max_backward_plane("kn_adaptive_max_pool2d_backward", pw.at<const T>(dy), dy.strides[2],
                             dy.strides[3], pw.at<const I>(indices), indices.strides[2],
                             indices.strides[3], pw.at<T>(dx), dx.strides[2], dx.strides[3], H, W,
                             Ho, Wo, q, C);
      });
    });
  });
}

}  // namespace kn::cpu
