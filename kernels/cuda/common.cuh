// Shared CUDA helpers, written once for every kernels/cuda/<op>.cu:
//
//   CudaCall            one op invocation: makes the tensors' device current
//                       (restoring the caller's on exit), holds the stream,
//                       turns CUDA errors into kn::Error(KN_ERR_BACKEND, "<op>: ...")
//                       and launches element-wise functors.
//   StridedIndexer<N>   N operands of one shape -> per-operand element offsets,
//                       built on the host from make_layout (kernels/internal/
//                       strided.hpp), so dims are dropped/sorted/merged exactly
//                       as on the CPU: a contiguous tensor is one flat dim.
//   elementwise         grid-stride loop calling f(ptrs) once per element,
//                       ptrs[k] = that element in operand k (operand 0 = output).
//   block_sum           deterministic sum over one block (fixed order).
//
// Rules every CUDA kernel follows (docs/abi.md): launch only on ctx.stream, no
// device synchronisation, no allocation, no zero-sized grids.
//
//   CudaCall call("kn_relu_forward", x, ctx);
//   call.elementwise<T, 2>({&y, &x}, ReluForward{});
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/internal/tensor.hpp"
#include "kernels/context.hpp"

namespace kn::cuda {

// ------------------------------------------------------------------ errors

// Throws KN_ERR_BACKEND "<op>: <what...>: cudaErrorX (description)".
template <typename... What>
[[noreturn]] void fail_cuda(cudaError_t error, const char* op, What&&... what) {
  // Consume the (non-sticky) error so that it is not reported a second time
  // by the caller's own next cudaGetLastError().
  (void)cudaGetLastError();
  fail(KN_ERR_BACKEND, op, ": ", std::forward<What>(what)..., ": ", cudaGetErrorName(error), " (",
       cudaGetErrorString(error), ")");
}

// ----------------------------------------------------------- strided index

// Per-operand element offsets of the i-th element of N same-shaped operands,
// passed to kernels by value. Dim 0 is the innermost (fastest-varying) dim.
template <size_t N>
struct StridedIndexer {
  int ndim;  // >= 1
  int64_t shape[KN_MAX_DIMS];
  int64_t strides[N][KN_MAX_DIMS];

  // IndexT is uint32_t when the element count fits (32-bit division is much
  // cheaper than 64-bit on the GPU), else int64_t. Offsets are always 64-bit
  // and may be negative. (Host-callable too, so it can be unit-checked
  // against the CPU's for_each_row without a GPU; no #pragma unroll for that
  // reason: the host compiler warns on it, and nvcc unrolls the constant-trip
  // k loops anyway.)
  template <typename IndexT>
  __host__ __device__ __forceinline__ void offsets(IndexT i, int64_t (&off)[N]) const {
    for (size_t k = 0; k < N; ++k) off[k] = 0;
    for (int d = 0; d < ndim - 1; ++d) {
      const IndexT extent = static_cast<IndexT>(shape[d]);
      const IndexT q = i / extent;
      const int64_t r = static_cast<int64_t>(i - q * extent);
      for (size_t k = 0; k < N; ++k) off[k] += r * strides[k][d];
      i = q;
    }
    // The outermost dim needs no division: i is its index.
    for (size_t k = 0; k < N; ++k) off[k] += static_cast<int64_t>(i) * strides[k][ndim - 1];
  }
};

template <size_t N>
StridedIndexer<N> make_indexer(const StridedLayout<N>& L) {
  StridedIndexer<N> ix{};
  ix.ndim = L.ndim;
  for (int d = 0; d < L.ndim; ++d) {
    ix.shape[d] = L.shape[d];
    for (size_t k = 0; k < N; ++k) ix.strides[k][d] = L.strides[k][d];
  }
  return ix;
}

// N base pointers (a plain struct: std::array is not usable in device code
// without --expt-relaxed-constexpr).
template <typename T, size_t N>
struct Pointers {
  T* p[N];
};

// --------------------------------------------------------------- kernels

constexpr int kElementwiseThreads = 256;

// f(ptrs): ptrs[k] points at the current element of operand k. Inputs are
// passed as T* too (one pointer type for all operands); functors only write
// the outputs. Each element is read and written by one thread, so an output
// that is exactly an input (in-place) is safe.
template <typename T, size_t N, typename IndexT, typename F>
__global__ void __launch_bounds__(kElementwiseThreads)
    elementwise_kernel(StridedIndexer<N> ix, Pointers<T, N> base, IndexT n, F f) {
  const IndexT step = static_cast<IndexT>(gridDim.x) * blockDim.x;
  for (IndexT i = static_cast<IndexT>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[N];
    ix.offsets(i, off);
    T* at[N];
#pragma unroll
    for (size_t k = 0; k < N; ++k) at[k] = base.p[k] + off[k];
    f(at);
  }
}

// Sum of v over the block, in a fixed order (warp shuffles, then the warps'
// partials), so the result is bit-identical run to run. blockDim.x must be a
// multiple of 32 and at most 1024. The result is valid in thread 0.
__device__ __forceinline__ double block_sum(double v) {
  __shared__ double warp_sums[32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < blockDim.x / 32 ? warp_sums[lane] : 0.0;
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  }
  return v;
}

// ------------------------------------------------------------ one op call

// Launch geometry of a grid-stride loop over n > 0 items.
struct LaunchConfig {
  unsigned blocks;
  unsigned threads;
};

class CudaCall {
 public:
  // Makes `any`'s device current for the lifetime of this object (all
  // tensors of a call share one device: validated by capi/).
  CudaCall(const char* op, const kn_tensor& any, const CudaContext& ctx)
      : op_(op), device_(any.device_id), stream_(static_cast<cudaStream_t>(ctx.stream)) {
    cudaError_t e = cudaGetDevice(&previous_);
    if (e != cudaSuccess) fail_cuda(e, op_, "cannot use CUDA device ", device_, " (cudaGetDevice failed)");
    if (previous_ != device_) {
      e = cudaSetDevice(device_);
      if (e != cudaSuccess) fail_cuda(e, op_, "cannot use CUDA device ", device_, " (cudaSetDevice failed)");
      restore_ = true;
    }
  }
  ~CudaCall() {
    // Never throw from a destructor; a failed restore only leaves the error
    // state clean for the caller.
    if (restore_ && cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
  }
  CudaCall(const CudaCall&) = delete;
  CudaCall& operator=(const CudaCall&) = delete;

  const char* op() const { return op_; }
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }

  // After every launch: a launch error (bad configuration, no device, a
  // sticky error from earlier work) becomes KN_ERR_BACKEND naming the op.
  void check_launch(const char* kernel) const {
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) fail_cuda(e, op_, "launching ", kernel, " failed");
  }

  // Enough blocks of `threads` to fill the device once (more only adds
  // index arithmetic in a grid-stride loop), fewer when n is small.
  LaunchConfig grid_stride(int64_t n, int threads) {
    if (sm_count_ == 0) {
      const cudaError_t e = cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_);
      if (e != cudaSuccess) fail_cuda(e, op_, "cannot query CUDA device ", device_);
    }
    const int64_t wanted = (n + threads - 1) / threads;
    const int64_t resident = int64_t(sm_count_) * std::max(1, 2048 / threads);
    return {static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, resident))),
            static_cast<unsigned>(threads)};
  }

  // Runs f over every element of the N operands (operand 0 is the output and
  // drives the iteration order). Nothing is launched for zero elements.
  template <typename T, size_t N, typename F>
  void elementwise(const std::array<const kn_tensor*, N>& operands, F f) {
    const StridedLayout<N> L = make_layout(operands);
    if (L.numel == 0) return;
    Pointers<T, N> base;
    for (size_t k = 0; k < N; ++k) base.p[k] = static_cast<T*>(operands[k]->data);
    const StridedIndexer<N> ix = make_indexer(L);
    const LaunchConfig cfg = grid_stride(L.numel, kElementwiseThreads);
    // 32-bit indexing when i + step cannot overflow (both < 2^31).
    if (L.numel <= INT32_MAX)
      elementwise_kernel<T, N, uint32_t><<<cfg.blocks, cfg.threads, 0, stream_>>>(
          ix, base, static_cast<uint32_t>(L.numel), f);
    else
      elementwise_kernel<T, N, int64_t><<<cfg.blocks, cfg.threads, 0, stream_>>>(ix, base, L.numel, f);
    check_launch("elementwise_kernel");
  }

 private:
  const char* op_;
  int device_;
  cudaStream_t stream_;
  int previous_ = 0;
  bool restore_ = false;
  int sm_count_ = 0;
};

}  // namespace kn::cuda
