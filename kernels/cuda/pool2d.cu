// 2-D max and average pooling on CUDA (the maths: kernels/cpu/pool2d.cpp).
//
// Shapes: x, dx:(N,C,H,W); y, dy, indices:(N,C,Ho,Wo); any strides.
//   forward:  one thread per output element (grid-stride), the window as on the CPU.
//   backward: one thread per INPUT element, gathering over the outputs whose
//             windows can cover it, in (oh, ow) order: no atomics, no
//             zero-fill pass, deterministic, and the same summation order as
//             the CPU's per-plane scatter (bitwise-equal results).
// Only on ctx.stream, no allocation, no synchronisation, nothing launched for
// zero elements.
#include <cmath>

#include "kernels/cuda/pool_grid.cuh"
#include "kernels/ops/pool2d.hpp"

namespace kn::cuda {
namespace {

// The pooling geometry, passed by value.
struct Geometry {
  int64_t C, H, W, Ho, Wo;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};

// First tap k with start + k d >= 0, and one past the last with start + k d < in.
__device__ __forceinline__ void taps(int64_t start, int64_t in, int64_t K, int64_t d, int64_t& k0,
                                     int64_t& k1) {
  k0 = start < 0 ? (-start + d - 1) / d : 0;
  k1 = start >= in ? 0 : min(K, (in - start + d - 1) / d);
  if (k1 < k0) k1 = k0;
}

// The outputs [o0, o1) whose windows (start o s - p, taps up to (K-1) d) can
// cover input position i (torch's max_pool_backward range).
__device__ __forceinline__ void covering(int64_t i, int64_t out, int64_t K, int64_t s, int64_t p,
                                         int64_t d, int64_t& o0, int64_t& o1) {
  const int64_t span = (K - 1) * d + 1;
  o0 = i + p < span ? 0 : (i + p - span) / s + 1;
  o1 = min((i + p) / s + 1, out);
}

template <typename T, typename I>
__global__ void __launch_bounds__(kPoolThreads)
    max_forward_kernel(View4<const T> x, View4<T> y, View4<I> ix, Geometry g, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord o = decode(i, g.C, g.Ho, g.Wo);
    const int64_t hs = o.a * g.sh - g.ph, ws = o.b * g.sw - g.pw;
    int64_t h0, h1, w0, w1;
    taps(hs, g.H, g.kh, g.dh, h0, h1);
    taps(ws, g.W, g.kw, g.dw, w0, w1);
    T m = -INFINITY;
    int64_t best = (h0 < h1 && w0 < w1) ? (hs + h0 * g.dh) * g.W + ws + w0 * g.dw : -1;
    for (int64_t kh = h0; kh < h1; ++kh) {
      const int64_t ih = hs + kh * g.dh;
      for (int64_t kw = w0; kw < w1; ++kw) {
        const int64_t iw = ws + kw * g.dw;
        const T v = x.at(o.n, o.c, ih, iw);
        if (takes_max(v, m)) m = v, best = ih * g.W + iw;
      }
    }
    y.at(o.n, o.c, o.a, o.b) = m;
    ix.at(o.n, o.c, o.a, o.b) = static_cast<I>(best);
  }
}

template <typename T, typename I>
__global__ void __launch_bounds__(kPoolThreads)
    max_backward_kernel(View4<const T> dy, View4<const I> ix, View4<T> dx, Geometry g,
                        int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord p = decode(i, g.C, g.H, g.W);
    int64_t oh0, oh1, ow0, ow1;
    covering(p.a, g.Ho, g.kh, g.sh, g.ph, g.dh, oh0, oh1);
    covering(p.b, g.Wo, g.kw, g.sw, g.pw, g.dw, ow0, ow1);
    dx.at(p.n, p.c, p.a, p.b) = max_gather(dy, ix, p.n, p.c, p.a * g.W + p.b, oh0, oh1, ow0, ow1);
  }
}

// avg pooling: the window of output o along one dim, clipped to the input
// [lo, hi), and its size clipped to the padded input.
__device__ __forceinline__ void avg_dim(int64_t o, int64_t in, int64_t K, int64_t s, int64_t p,
                                        int64_t& lo, int64_t& hi, int64_t& pool) {
  const int64_t start = o * s - p;
  const int64_t end = min(start + K, in + p);
  pool = end - start;
  lo = max(start, int64_t(0));
  hi = min(end, in);
}

struct AvgOptions {
  int64_t divisor_override;  // 0 = none
  bool count_include_pad;
};

__device__ __forceinline__ int64_t avg_divisor(const AvgOptions& a, int64_t h0, int64_t h1,
                                               int64_t w0, int64_t w1, int64_t ph, int64_t pw) {
  if (a.divisor_override > 0) return a.divisor_override;
  if (a.count_include_pad) return ph * pw;
  return (h1 - h0) * (w1 - w0);
}

template <typename T>
__global__ void __launch_bounds__(kPoolThreads)
    avg_forward_kernel(View4<const T> x, View4<T> y, Geometry g, AvgOptions a, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord o = decode(i, g.C, g.Ho, g.Wo);
    int64_t h0, h1, ph, w0, w1, pw;
    avg_dim(o.a, g.H, g.kh, g.sh, g.ph, h0, h1, ph);
    avg_dim(o.b, g.W, g.kw, g.sw, g.pw, w0, w1, pw);
    const int64_t divisor = avg_divisor(a, h0, h1, w0, w1, ph, pw);
    T sum(0);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) sum += x.at(o.n, o.c, h, w);
    y.at(o.n, o.c, o.a, o.b) = divisor > 0 ? sum / T(divisor) : T(0);
  }
}

template <typename T>
__global__ void __launch_bounds__(kPoolThreads)
    avg_backward_kernel(View4<const T> dy, View4<T> dx, Geometry g, AvgOptions a, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord p = decode(i, g.C, g.H, g.W);
    int64_t oh0, oh1, ow0, ow1;
    covering(p.a, g.Ho, g.kh, g.sh, g.ph, 1, oh0, oh1);
    covering(p.b, g.Wo, g.kw, g.sw, g.pw, 1, ow0, ow1);
    T sum(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      int64_t h0, h1, ph;
      avg_dim(oh, g.H, g.kh, g.sh, g.ph, h0, h1, ph);
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        int64_t w0, w1, pw;
        avg_dim(ow, g.W, g.kw, g.sw, g.pw, w0, w1, pw);
        const int64_t divisor = avg_divisor(a, h0, h1, w0, w1, ph, pw);
        if (divisor > 0) sum += dy.at(p.n, p.c, oh, ow) / T(divisor);
      }
    }
    dx.at(p.n, p.c, p.a, p.b) = sum;
  }
}

Geometry geometry(const kn_tensor& big, const kn_tensor& small, const int64_t* k, const int64_t* s,
                  const int64_t* pad, const int64_t* d) {
  return {big.shape[1], big.shape[2], big.shape[3], small.shape[2], small.shape[3],
          k[0], k[1], s[0], s[1], pad[0], pad[1], d[0], d[1]};
}

const int64_t kNoDilation[2] = {1, 1};

}  // namespace

void max_pool2d_forward(const kn_max_pool2d_params& p, const kn_tensor& x, const kn_tensor& y,
                        const kn_tensor& indices, const CudaContext& ctx) {
  const int64_t total = numel(y);
  if (total == 0) return;
  CudaCall call("kn_max_pool2d_forward", x, ctx);
  const Geometry g = geometry(x, y, p.kernel_size, p.stride, p.padding, p.dilation);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      launch_pool(call, "max_forward_kernel", max_forward_kernel<T, I>, total,
                  view4<const T>(x), view4<T>(y), view4<I>(indices), g);
    });
  });
}

void max_pool2d_backward(const kn_max_pool2d_params& p, const kn_tensor& dy, const kn_tensor& indices,
                         const kn_tensor& dx, const CudaContext& ctx) {
  const int64_t total = numel(dx);
  if (total == 0) return;
  CudaCall call("kn_max_pool2d_backward", dx, ctx);
  const Geometry g = geometry(dx, dy, p.kernel_size, p.stride, p.padding, p.dilation);
  dispatch_float(dx.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      launch_pool(call, "max_backward_kernel", max_backward_kernel<T, I>, total,
                  view4<const T>(dy), view4<const I>(indices), view4<T>(dx), g);
    });
  });
}

void avg_pool2d_forward(const kn_avg_pool2d_params& p, const kn_tensor& x, const kn_tensor& y,
                        const CudaContext& ctx) {
  const int64_t total = numel(y);
  if (total == 0) return;
  CudaCall call("kn_avg_pool2d_forward", x, ctx);
  const Geometry g = geometry(x, y, p.kernel_size, p.stride, p.padding, kNoDilation);
  const AvgOptions a{p.divisor_override, p.count_include_pad != 0};
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    launch_pool(call, "avg_forward_kernel", avg_forward_kernel<T>, total,
                view4<const T>(x), view4<T>(y), g, a);
  });
}

void avg_pool2d_backward(const kn_avg_pool2d_params& p, const kn_tensor& dy, const kn_tensor& dx,
                         const CudaContext& ctx) {
  const int64_t total = numel(dx);
  if (total == 0) return;
  CudaCall call("kn_avg_pool2d_backward", dx, ctx);
  const Geometry g = geometry(dx, dy, p.kernel_size, p.stride, p.padding, kNoDilation);
  const AvgOptions a{p.divisor_override, p.count_include_pad != 0};
  dispatch_float(dx.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    launch_pool(call, "avg_backward_kernel", avg_backward_kernel<T>, total,
                view4<const T>(dy), view4<T>(dx), g, a);
  });
}

}  // namespace kn::cuda
