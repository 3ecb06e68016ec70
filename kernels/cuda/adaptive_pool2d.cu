// 2-D adaptive average and max pooling on CUDA (the maths: kernels/cpu/adaptive_pool2d.cpp).
//
// Shapes: x, dx:(N,C,H,W); y, dy, indices:(N,C,Ho,Wo); any strides.
//   forward:  one thread per output element (grid-stride), the bin as on the CPU.
//   backward: one thread per INPUT element, gathering over the outputs whose
//             bins contain it, in (oh, ow) order: no atomics, no zero-fill
//             pass, deterministic; avg in the CPU's order and formula (bitwise
//             equal), max in the order of the CPU's per-plane scatter.
// Only on ctx.stream, no allocation, no synchronisation, nothing launched for
// zero elements. Validation guarantees out * (in + 1) fits in int64.
#include <cmath>

#include "kernels/cuda/pool_grid.cuh"
#include "kernels/ops/adaptive_pool2d.hpp"

namespace kn::cuda {
namespace {

struct Geometry {
  int64_t C, H, W, Ho, Wo;
};

__device__ __forceinline__ int64_t bin_lo(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
__device__ __forceinline__ int64_t bin_hi(int64_t o, int64_t in, int64_t out) {
  return ((o + 1) * in + out - 1) / out;
}

// The outputs [o0, o1) whose bins contain input position i (a contiguous
// range: both bin ends are non-decreasing), found by stepping outwards from
// floor(i out / in), whose bin always contains i.
__device__ __forceinline__ void covering(int64_t i, int64_t in, int64_t out, int64_t& o0,
                                         int64_t& o1) {
  const int64_t guess = (i * out) / in;  // bin_lo(guess) <= i < bin_hi(guess)
  o0 = guess;
  while (o0 > 0 && bin_hi(o0 - 1, in, out) > i) --o0;
  o1 = guess + 1;
  while (o1 < out && bin_lo(o1, in, out) <= i) ++o1;
}

template <typename T>
__global__ void __launch_bounds__(kPoolThreads)
    avg_forward_kernel(View4<const T> x, View4<T> y, Geometry g, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord o = decode(i, g.C, g.Ho, g.Wo);
    const int64_t h0 = bin_lo(o.a, g.H, g.Ho), h1 = bin_hi(o.a, g.H, g.Ho);
    const int64_t w0 = bin_lo(o.b, g.W, g.Wo), w1 = bin_hi(o.b, g.W, g.Wo);
    T sum(0);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) sum += x.at(o.n, o.c, h, w);
    y.at(o.n, o.c, o.a, o.b) = sum / T((h1 - h0) * (w1 - w0));
  }
}

template <typename T>
__global__ void __launch_bounds__(kPoolThreads)
    avg_backward_kernel(View4<const T> dy, View4<T> dx, Geometry g, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord p = decode(i, g.C, g.H, g.W);
    int64_t oh0, oh1, ow0, ow1;
    covering(p.a, g.H, g.Ho, oh0, oh1);
    covering(p.b, g.W, g.Wo, ow0, ow1);
    T sum(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const int64_t kh = bin_hi(oh, g.H, g.Ho) - bin_lo(oh, g.H, g.Ho);
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const int64_t kw = bin_hi(ow, g.W, g.Wo) - bin_lo(ow, g.W, g.Wo);
        sum += dy.at(p.n, p.c, oh, ow) / T(kh * kw);
      }
    }
    dx.at(p.n, p.c, p.a, p.b) = sum;
  }
}

template <typename T, typename I>
__global__ void __launch_bounds__(kPoolThreads)
    max_forward_kernel(View4<const T> x, View4<T> y, View4<I> ix, Geometry g, int64_t total) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Coord o = decode(i, g.C, g.Ho, g.Wo);
    const int64_t h0 = bin_lo(o.a, g.H, g.Ho), h1 = bin_hi(o.a, g.H, g.Ho);
    const int64_t w0 = bin_lo(o.b, g.W, g.Wo), w1 = bin_hi(o.b, g.W, g.Wo);
    T m = -INFINITY;
    int64_t best = h0 * g.W + w0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const T v = x.at(o.n, o.c, h, w);
        if (takes_max(v, m)) m = v, best = h * g.W + w;
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
    covering(p.a, g.H, g.Ho, oh0, oh1);
    covering(p.b, g.W, g.Wo, ow0, ow1);
    dx.at(p.n, p.c, p.a, p.b) = max_gather(dy, ix, p.n, p.c, p.a * g.W + p.b, oh0, oh1, ow0, ow1);
  }
}

Geometry geometry(const kn_tensor& big, const kn_tensor& small) {
  return {big.shape[1], big.shape[2], big.shape[3], small.shape[2], small.shape[3]};
}

}  // namespace

void adaptive_avg_pool2d_forward(const kn_tensor& x, const kn_tensor& y, const CudaContext& ctx) {
  const int64_t total = numel(y);
  if (total == 0) return;
  CudaCall call("kn_adaptive_avg_pool2d_forward", x, ctx);
  const Geometry g = geometry(x, y);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    launch_pool(call, "avg_forward_kernel", avg_forward_kernel<T>, total,
                view4<const T>(x), view4<T>(y), g);
  });
}

void adaptive_avg_pool2d_backward(const kn_tensor& dy, const kn_tensor& dx, const CudaContext& ctx) {
  const int64_t total = numel(dx);
  if (total == 0) return;
  CudaCall call("kn_adaptive_avg_pool2d_backward", dx, ctx);
  const Geometry g = geometry(dx, dy);
  dispatch_float(dx.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    launch_pool(call, "avg_backward_kernel", avg_backward_kernel<T>, total,
                view4<const T>(dy), view4<T>(dx), g);
  });
}

void adaptive_max_pool2d_forward(const kn_tensor& x, const kn_tensor& y, const kn_tensor& indices,
                                 const CudaContext& ctx) {
  const int64_t total = numel(y);
  if (total == 0) return;
  CudaCall call("kn_adaptive_max_pool2d_forward", x, ctx);
  const Geometry g = geometry(x, y);
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      launch_pool(call, "max_forward_kernel", max_forward_kernel<T, I>, total,
                  view4<const T>(x), view4<T>(y), view4<I>(indices), g);
    });
  });
}

void adaptive_max_pool2d_backward(const kn_tensor& dy, const kn_tensor& indices, const kn_tensor& dx,
                                  const CudaContext& ctx) {
  const int64_t total = numel(dx);
  if (total == 0) return;
  CudaCall call("kn_adaptive_max_pool2d_backward", dx, ctx);
  const Geometry g = geometry(dx, dy);
  dispatch_float(dx.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      launch_pool(call, "max_backward_kernel", max_backward_kernel<T, I>, total,
                  view4<const T>(dy), view4<const I>(indices), view4<T>(dx), g);
    });
  });
}

}  // namespace kn::cuda
