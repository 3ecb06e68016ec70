// CUDA pieces shared by the 2-D pooling ops (pool2d.cu: max/avg_pool2d,
// adaptive_pool2d.cu: adaptive_avg/max_pool2d), written once:
//
//   View4, view4      a 4-D strided tensor (N, C, H, W) on the device
//   decode            flat row-major index -> (n, c, a, b)
//   takes_max         torch's running-maximum rule (a NaN wins)
//   max_gather        the max backward's gather for one input element
//   launch_pool       one grid-stride launch of kPoolThreads per block
//
// Every pooling kernel runs one thread per output element (forward) or per
// INPUT element (backward: a gather over the outputs whose windows or bins
// contain it, in (oh, ow) order), so no atomics and deterministic results.
#pragma once

#include "kernels/cuda/common.cuh"

namespace kn::cuda {

constexpr int kPoolThreads = 256;

// A 4-D strided tensor's base pointer and element strides.
template <typename T>
struct View4 {
  T* data;
  int64_t s0, s1, s2, s3;
  __device__ __forceinline__ T& at(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return data[n * s0 + c * s1 + h * s2 + w * s3];
  }
};

template <typename T>
View4<T> view4(const kn_tensor& t) {
  return {static_cast<T*>(t.data), t.strides[0], t.strides[1], t.strides[2], t.strides[3]};
}

// Logical (n, c, a, b) of the flat row-major index i over (N, C, A, B).
struct Coord {
  int64_t n, c, a, b;
};
__device__ __forceinline__ Coord decode(int64_t i, int64_t C, int64_t A, int64_t B) {
  Coord r;
  r.b = i % B;
  i /= B;
  r.a = i % A;
  i /= A;
  r.c = i % C;
  r.n = i / C;
  return r;
}

// v replaces the running maximum m: greater, or NaN (torch's rule).
template <typename T>
__device__ __forceinline__ bool takes_max(T v, T m) {
  return v > m || v != v;
}

// Max backward of input element (n, c, flat = h W + w): the sum of dy over the
// outputs [oh0, oh1) x [ow0, ow1) that can contain it whose saved index is
// `flat`, in (oh, ow) order (the order of the CPU's per-plane scatter).
template <typename T, typename I>
__device__ __forceinline__ T max_gather(const View4<const T>& dy, const View4<const I>& ix,
                                        int64_t n, int64_t c, int64_t flat, int64_t oh0,
                                        int64_t oh1, int64_t ow0, int64_t ow1) {
  T sum(0);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow)
      if (static_cast<int64_t>(ix.at(n, c, oh, ow)) == flat) sum += dy.at(n, c, oh, ow);
  return sum;
}

// kernel<<<grid-stride over total items, kPoolThreads>>>(args..., total) on
// the call's stream, then the launch check naming `name`. total > 0.
template <typename... Params, typename... Args>
void launch_pool(CudaCall& call, const char* name, void (*kernel)(Params...), int64_t total,
                 Args... args) {
  const LaunchConfig cfg = call.grid_stride(total, kPoolThreads);
  kernel<<<cfg.blocks, cfg.threads, 0, call.stream()>>>(args..., total);
  call.check_launch(name);
}

}  // namespace kn::cuda
