// Deterministic warp and block reductions with the result broadcast to every
// thread, for the row-wise CUDA kernels of softmax and the class losses
// (softmax.cu, nll_loss.cu, cross_entropy.cu). Fixed shuffle order: results
// are bit-identical run to run. Max ignores NaN (as the CPU's x > m ? x : m);
// a NaN in a row still reaches the output through the sum of exponentials.
// (Written for softmax and losses; could join common.cuh.)
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/internal/dim_rows.hpp"

namespace kn::cuda {

__device__ __forceinline__ double max_of(double a, double b) { return b > a ? b : a; }

template <bool kMax>
__device__ __forceinline__ double warp_all(double v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
    const double u = __shfl_down_sync(0xffffffffu, v, offset);
    v = kMax ? max_of(v, u) : v + u;
  }
  return __shfl_sync(0xffffffffu, v, 0);
}

// blockDim.x: a multiple of 32, at most 1024. Every thread of the block must call it.
template <bool kMax>
__device__ __forceinline__ double block_all(double v) {
  __shared__ double partial[32];
  __shared__ double result;
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
    const double u = __shfl_down_sync(0xffffffffu, v, offset);
    v = kMax ? max_of(v, u) : v + u;
  }
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < blockDim.x / 32 ? partial[lane] : (kMax ? -INFINITY : 0.0);
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      const double u = __shfl_down_sync(0xffffffffu, v, offset);
      v = kMax ? max_of(v, u) : v + u;
    }
    if (lane == 0) result = v;
  }
  __syncthreads();
  const double r = result;
  __syncthreads();  // partial and result may be reused by the next call
  return r;
}

template <typename T>
__device__ __forceinline__ T dev_exp(T x) {
  return exp(x);
}
template <>
__device__ __forceinline__ float dev_exp<float>(float x) {
  return expf(x);
}

template <typename T>
__device__ __forceinline__ const T* at_bytes(const char* base, int64_t off) {
  return reinterpret_cast<const T*>(base + off);
}
template <typename T>
__device__ __forceinline__ T* at_bytes(char* base, int64_t off) {
  return reinterpret_cast<T*>(base + off);
}

// Row layout -> device indexer (byte offsets), see dim_rows.hpp.
template <size_t N>
StridedIndexer<N> row_indexer(const std::array<kn_tensor, N>& views, int64_t& rows) {
  const StridedLayout<N> L = row_layout(views);
  rows = L.numel;
  return make_indexer(L);
}

}  // namespace kn::cuda
