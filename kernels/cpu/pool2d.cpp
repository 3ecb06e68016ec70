// 2-D max and average pooling on the CPU, as torch.nn.functional.
//
// Shapes: x, dx:(N,C,H,W); y, dy, indices:(N,C,Ho,Wo); any strides (dx, y,
// indices non-overlapping: validated). The window of output (oh, ow) starts
// at (hs, ws) = (oh sH - pH, ow sW - pW).
//
//   max forward:  y[oh,ow] = max over (hs + kh dH, ws + kw dW) inside the input,
//                 indices[oh,ow] = its flat index h W + w (first max wins ties,
//                 a NaN wins: the last NaN of the window; -1 for an empty window)
//   max backward: dx[i] = sum of dy[o] over the o with indices[o] == i
//   avg forward:  y[oh,ow] = sum of x over the window clipped to the input / divisor
//                 divisor = divisor_override, or the window clipped to the padded
//                 input (count_include_pad), or the element count of the window
//   avg backward: dx[h,w] = sum over the windows covering (h,w) of dy[oh,ow] / divisor
//
// Threads own whole (n, c) planes (parallel_for over N*C), so the backward
// scatter is race-free, and each dx element receives its contributions in
// (oh, ow) order whatever the thread count (the CUDA kernels gather in the
// same order: bitwise-equal results). Fast path: 2x2 windows, stride 2, no
// padding (LeNet's pooling), branch-free for max.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/cpu/pool_planes.hpp"
#include "kernels/ops/pool2d.hpp"

namespace kn::cpu {
namespace {

// The valid taps [k0, k1) of one window along one dim: positions
// start + k*d inside [0, in), for k in [0, K).
struct Taps {
  int64_t start, k0, k1;
};

Taps taps(int64_t o, int64_t in, int64_t K, int64_t s, int64_t p, int64_t d) {
  const int64_t start = o * s - p;
  const int64_t k0 = start < 0 ? (-start + d - 1) / d : 0;
  const int64_t k1 = start >= in ? 0 : std::min<int64_t>(K, (in - start + d - 1) / d);
  return {start, k0, std::max(k0, k1)};
}

std::vector<Taps> all_taps(int64_t out, int64_t in, int64_t K, int64_t s, int64_t p, int64_t d) {
  std::vector<Taps> t(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) t[o] = taps(o, in, K, s, p, d);
  return t;
}

// Planes of (N, C) tensors: base pointer of plane n*C + c.
template <typename T>
T* plane(const kn_tensor& t, int64_t p, int64_t C) {
  return data_as<T>(t) + (p / C) * t.strides[0] + (p % C) * t.strides[1];
}

// One output row of 2x2 / stride-2 max pooling over input rows r0, r1.
// Branch-free: the maxima and the tap (0..3) win as int32 codes in a first
// loop (which the compiler vectorises; with 64-bit indices in the same loop
// it emits branches, mispredicted on random data), the indices in a second.
template <typename T, typename I, int64_t YS, int64_t IS>
inline void max2x2_row(const T* r0, const T* r1, T* yr, int64_t ysw, I* ir, int64_t isw,
                       int64_t i0, int64_t W, int64_t Wo) {
  if (YS) ysw = YS;
  if (IS) isw = IS;
  constexpr int64_t kChunk = 256;
  int32_t code[kChunk];
  for (int64_t o0 = 0; o0 < Wo; o0 += kChunk) {
    const int64_t n = std::min(kChunk, Wo - o0);
    const T* a0 = r0 + 2 * o0;
    const T* a1 = r1 + 2 * o0;
    T* yo = yr + o0 * ysw;
    for (int64_t j = 0; j < n; ++j) {
      const T a = a0[2 * j], b = a0[2 * j + 1], c = a1[2 * j], d = a1[2 * j + 1];
      T m = a;
      int32_t k = 0;
      bool t = (b > m) | (b != b);
      m = t ? b : m, k = t ? 1 : k;
      t = (c > m) | (c != c);
      m = t ? c : m, k = t ? 2 : k;
      t = (d > m) | (d != d);
      m = t ? d : m, k = t ? 3 : k;
      yo[j * ysw] = m;
      code[j] = k;
    }
    for (int64_t j = 0; j < n; ++j)
      ir[(o0 + j) * isw] = static_cast<I>(i0 + 2 * (o0 + j) + (code[j] & 1) + (code[j] >> 1) * W);
  }
}

template <typename T, typename I>
void max_forward_plane(const kn_max_pool2d_params& p, const T* x, int64_t xsh, int64_t xsw,
                       int64_t H, int64_t W, T* y, int64_t ysh, int64_t ysw, I* ix, int64_t ish,
                       int64_t isw, const std::vector<Taps>& th, const std::vector<Taps>& tw) {
  const int64_t Ho = static_cast<int64_t>(th.size()), Wo = static_cast<int64_t>(tw.size());
  const bool fast2x2 = p.kernel_size[0] == 2 && p.kernel_size[1] == 2 && p.stride[0] == 2 &&
                       p.stride[1] == 2 && p.padding[0] == 0 && p.padding[1] == 0 &&
                       p.dilation[0] == 1 && p.dilation[1] == 1 && xsw == 1 && 2 * Ho <= H &&
                       2 * Wo <= W;
  if (fast2x2) {
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const T* r0 = x + 2 * oh * xsh;
      const T* r1 = r0 + xsh;
      T* yr = y + oh * ysh;
      I* ir = ix + oh * ish;
      const int64_t i0 = 2 * oh * W;
      // Unit output strides get their own instantiation of the row.
      if (ysw == 1 && isw == 1)
        max2x2_row<T, I, 1, 1>(r0, r1, yr, ysw, ir, isw, i0, W, Wo);
      else
        max2x2_row<T, I, 0, 0>(r0, r1, yr, ysw, ir, isw, i0, W, Wo);
    }
    return;
  }
  const int64_t dh = p.dilation[0], dw = p.dilation[1];
  for (int64_t oh = 0; oh < Ho; ++oh) {
    const Taps h = th[oh];
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const Taps w = tw[ow];
      T m = -std::numeric_limits<T>::infinity();
      int64_t at = -1;
      if (h.k0 < h.k1 && w.k0 < w.k1) at = (h.start + h.k0 * dh) * W + w.start + w.k0 * dw;
      for (int64_t kh = h.k0; kh < h.k1; ++kh) {
        const int64_t ih = h.start + kh * dh;
        const T* row = x + ih * xsh;
        for (int64_t kw = w.k0; kw < w.k1; ++kw) {
          const int64_t iw = w.start + kw * dw;
          const T v = row[iw * xsw];
          if (takes_max(v, m)) m = v, at = ih * W + iw;
        }
      }
      y[oh * ysh + ow * ysw] = m;
      ix[oh * ish + ow * isw] = static_cast<I>(at);
    }
  }
}

// avg pooling: the clipped window and its divisor along both dims.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
};

struct AvgDim {
  int64_t lo, hi, pool;  // clipped to the input; pool: size clipped to the padded input
};

std::vector<AvgDim> avg_dims(int64_t out, int64_t in, int64_t K, int64_t s, int64_t p) {
  std::vector<AvgDim> v(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - p;
    const int64_t end = std::min(start + K, in + p);
    v[o] = {std::max<int64_t>(start, 0), std::min(end, in), end - start};
  }
  return v;
}

inline AvgWindow avg_window(const kn_avg_pool2d_params& p, const AvgDim& h, const AvgDim& w) {
  AvgWindow win{h.lo, h.hi, w.lo, w.hi, 0};
  if (p.divisor_override > 0)
    win.divisor = p.divisor_override;
  else if (p.count_include_pad)
    win.divisor = h.pool * w.pool;
  else
    win.divisor = (h.hi - h.lo) * (w.hi - w.lo);
  return win;
}

}  // namespace

void max_pool2d_forward(const kn_max_pool2d_params& p, const kn_tensor& x, const kn_tensor& y,
                        const kn_tensor& indices, const CpuContext& ctx) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t Ho = y.shape[2], Wo = y.shape[3];
  if (numel(y) == 0) return;  // nothing to write; N * C, Ho * Wo fit from here on
  const auto th = all_taps(Ho, H, p.kernel_size[0], p.stride[0], p.padding[0], p.dilation[0]);
  const auto tw = all_taps(Wo, W, p.kernel_size[1], p.stride[1], p.padding[1], p.dilation[1]);
  dispatch_float(x.dtype, "kn_max_pool2d_forward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, "kn_max_pool2d_forward", [&](auto itag) {
      using I = decltype(itag);
      parallel_for(N * C, plane_grain(x, y), ctx.num_threads, [&](int64_t b, int64_t e) {
        for (int64_t q = b; q < e; ++q)
          max_forward_plane<T, I>(p, plane<const T>(x, q, C), x.strides[2], x.strides[3], H, W,
                                  plane<T>(y, q, C), y.strides[2], y.strides[3],
                                  plane<I>(indices, q, C), indices.strides[2], indices.strides[3],
                                  th, tw);
      });
    });
  });
}

void max_pool2d_backward(const kn_max_pool2d_params&, const kn_tensor& dy, const kn_tensor& indices,
                         const kn_tensor& dx, const CpuContext& ctx) {
  const int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3];
  // Nothing to write and nothing to check. With indices but an empty dx
  // (H or W = 0, N*C >= 1) the loop below still runs, to refuse every index
  // but -1; either way N * C and H * W fit from here on.
  if (numel(dx) == 0 && numel(indices) == 0) return;
  const int64_t Ho = dy.shape[2], Wo = dy.shape[3];
  dispatch_float(dx.dtype, "kn_max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, "kn_max_pool2d_backward", [&](auto itag) {
      using I = decltype(itag);
      parallel_for(N * C, plane_grain(dx, dy), ctx.num_threads, [&](int64_t b, int64_t e) {
        for (int64_t q = b; q < e; ++q)
          max_backward_plane("kn_max_pool2d_backward", plane<const T>(dy, q, C), dy.strides[2],
                             dy.strides[3], plane<const I>(indices, q, C), indices.strides[2],
                             indices.strides[3], plane<T>(dx, q, C), dx.strides[2], dx.strides[3],
                             H, W, Ho, Wo, q, C);
      });
    });
  });
}

void avg_pool2d_forward(const kn_avg_pool2d_params& p, const kn_tensor& x, const kn_tensor& y,
                        const CpuContext& ctx) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t Ho = y.shape[2], Wo = y.shape[3];
  if (numel(y) == 0) return;  // nothing to write; N * C, Ho * Wo fit from here on
  const auto dh = avg_dims(Ho, H, p.kernel_size[0], p.stride[0], p.padding[0]);
  const auto dw = avg_dims(Wo, W, p.kernel_size[1], p.stride[1], p.padding[1]);
  const bool fast2x2 = p.kernel_size[0] == 2 && p.kernel_size[1] == 2 && p.stride[0] == 2 &&
                       p.stride[1] == 2 && p.padding[0] == 0 && p.padding[1] == 0 &&
                       p.divisor_override == 0 && x.strides[3] == 1 && 2 * Ho <= H && 2 * Wo <= W;
  dispatch_float(x.dtype, "kn_avg_pool2d_forward", [&](auto tag) {
    using T = decltype(tag);
    parallel_for(N * C, plane_grain(x, y), ctx.num_threads, [&](int64_t b, int64_t e) {
      const int64_t xsh = x.strides[2], xsw = x.strides[3], ysh = y.strides[2], ysw = y.strides[3];
      for (int64_t q = b; q < e; ++q) {
        const T* xp = plane<const T>(x, q, C);
        T* yp = plane<T>(y, q, C);
        if (fast2x2) {  // full windows: divisor 4 either way
          for (int64_t oh = 0; oh < Ho; ++oh) {
            const T* r0 = xp + 2 * oh * xsh;
            const T* r1 = r0 + xsh;
            T* yr = yp + oh * ysh;
            for (int64_t ow = 0; ow < Wo; ++ow) {
              const int64_t w = 2 * ow;
              yr[ow * ysw] = (((r0[w] + r0[w + 1]) + r1[w]) + r1[w + 1]) / T(4);
            }
          }
          continue;
        }
        for (int64_t oh = 0; oh < Ho; ++oh)
          for (int64_t ow = 0; ow < Wo; ++ow) {
            const AvgWindow win = avg_window(p, dh[oh], dw[ow]);
            T sum(0);
            for (int64_t h = win.h0; h < win.h1; ++h)
              for (int64_t w = win.w0; w < win.w1; ++w) sum += xp[h * xsh + w * xsw];
            // An empty window (impossible with padding <= kernel_size / 2) gives 0.
            yp[oh * ysh + ow * ysw] = win.divisor > 0 ? sum / T(win.divisor) : T(0);
          }
      }
    });
  });
}

void avg_pool2d_backward(const kn_avg_pool2d_params& p, const kn_tensor& dy, const kn_tensor& dx,
                         const CpuContext& ctx) {
  const int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3];
  const int64_t Ho = dy.shape[2], Wo = dy.shape[3];
  if (numel(dx) == 0) return;  // nothing to write; N * C, H * W fit from here on
  const auto dh = avg_dims(Ho, H, p.kernel_size[0], p.stride[0], p.padding[0]);
  const auto dw = avg_dims(Wo, W, p.kernel_size[1], p.stride[1], p.padding[1]);
  const bool fast2x2 = p.kernel_size[0] == 2 && p.kernel_size[1] == 2 && p.stride[0] == 2 &&
                       p.stride[1] == 2 && p.padding[0] == 0 && p.padding[1] == 0 &&
                       p.divisor_override == 0 && 2 * Ho <= H && 2 * Wo <= W;
  dispatch_float(dx.dtype, "kn_avg_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    parallel_for(N * C, plane_grain(dx, dy), ctx.num_threads, [&](int64_t b, int64_t e) {
      const int64_t gsh = dy.strides[2], gsw = dy.strides[3], dsh = dx.strides[2], dsw = dx.strides[3];
      for (int64_t q = b; q < e; ++q) {
        const T* g = plane<const T>(dy, q, C);
        T* d = plane<T>(dx, q, C);
        if (fast2x2) {  // disjoint full windows: dx = dy / 4 over each (0 + v = v exactly)
          if (2 * Ho < H || 2 * Wo < W) zero_plane(d, dsh, dsw, H, W);
          for (int64_t oh = 0; oh < Ho; ++oh) {
            T* r0 = d + 2 * oh * dsh;
            T* r1 = r0 + dsh;
            const T* gr = g + oh * gsh;
            for (int64_t ow = 0; ow < Wo; ++ow) {
              const T v = gr[ow * gsw] / T(4);
              const int64_t w = 2 * ow * dsw;
              r0[w] = v, r0[w + dsw] = v, r1[w] = v, r1[w + dsw] = v;
            }
          }
          continue;
        }
        zero_plane(d, dsh, dsw, H, W);
        for (int64_t oh = 0; oh < Ho; ++oh)
          for (int64_t ow = 0; ow < Wo; ++ow) {
            const AvgWindow win = avg_window(p, dh[oh], dw[ow]);
            if (win.divisor <= 0) continue;
            const T v = g[oh * gsh + ow * gsw] / T(win.divisor);
            for (int64_t h = win.h0; h < win.h1; ++h)
              for (int64_t w = win.w0; w < win.w1; ++w) d[h * dsh + w * dsw] += v;
          }
      }
    });
  });
}

}  // namespace kn::cpu
