// Dropout on CUDA, the same maths as kernels/cpu/dropout.cpp:
//   forward:  keep_i = philox word of (seed, i) >= floor(p 2^32)   (philox.hpp)
//             mask_i = keep_i;  y_i = x_i * (keep_i ? scale : 0),  scale = 1/(1-p)
//   backward: dx_i = dy_i * (mask_i != 0 ? scale : 0)
// i is the LOGICAL row-major index, so the mask equals the CPU's for the same
// (seed, shape), whatever the strides. One thread handles one group of 4
// logical elements (one Philox call); y may be x, dx may be dy (the same
// thread reads and writes each element).
#include "kernels/cuda/common.cuh"
#include "kernels/internal/philox.hpp"
#include "kernels/ops/dropout.hpp"

namespace kn::cuda {
namespace {

// Offsets of the LOGICAL index i in 3 operands: dim 0 of the indexer is the
// last logical dim, no reordering (unlike make_layout, which follows memory).
StridedIndexer<3> logical_indexer(const kn_tensor& a, const kn_tensor& b, const kn_tensor& c) {
  StridedIndexer<3> ix{};
  const kn_tensor* ops[3] = {&a, &b, &c};
  ix.ndim = 0;
  for (int d = a.ndim - 1; d >= 0; --d) {
    if (a.shape[d] == 1) continue;
    ix.shape[ix.ndim] = a.shape[d];
    for (int k = 0; k < 3; ++k) ix.strides[k][ix.ndim] = ops[k]->strides[d];
    ++ix.ndim;
  }
  if (ix.ndim == 0) {  // a scalar or all dims of size 1: one element at offset 0
    ix.ndim = 1;
    ix.shape[0] = 1;
    for (int k = 0; k < 3; ++k) ix.strides[k][0] = 0;
  }
  return ix;
}

template <typename T>
__global__ void dropout_forward_kernel(StridedIndexer<3> ix, T* y, const T* x, uint8_t* mask,
                                       int64_t n, uint64_t seed, uint64_t threshold, T scale) {
  const int64_t groups = (n + 3) / 4;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += step) {
    const Philox4 r = philox_group(seed, static_cast<uint64_t>(g));
    for (int w = 0; w < 4; ++w) {
      const int64_t i = 4 * g + w;
      if (i >= n) break;
      int64_t off[3];
      ix.offsets(i, off);
      const bool keep = r.v[w] >= threshold;
      y[off[0]] = x[off[1]] * (keep ? scale : T(0));
      mask[off[2]] = keep ? 1 : 0;
    }
  }
}

template <typename T>
__global__ void dropout_backward_kernel(StridedIndexer<3> ix, T* dx, const T* dy,
                                        const uint8_t* mask, int64_t n, T scale) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[3];
    ix.offsets(i, off);
    dx[off[0]] = dy[off[1]] * (mask[off[2]] ? scale : T(0));
  }
}

}  // namespace

void dropout_forward(double p, uint64_t seed, const kn_tensor& x, const kn_tensor& y,
                     const kn_tensor& mask, const CudaContext& ctx) {
  CudaCall call("kn_dropout_forward", x, ctx);
  const int64_t n = numel(x);
  if (n == 0) return;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    const LaunchConfig cfg = call.grid_stride((n + 3) / 4, kElementwiseThreads);
    dropout_forward_kernel<T><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
        logical_indexer(y, x, mask), static_cast<T*>(y.data), static_cast<const T*>(x.data),
        static_cast<uint8_t*>(mask.data), n, seed, dropout_threshold(p),
        static_cast<T>(dropout_scale(p)));
    call.check_launch("dropout_forward_kernel");
  });
}

void dropout_backward(double p, const kn_tensor& dy, const kn_tensor& mask, const kn_tensor& dx,
                      const CudaContext& ctx) {
  CudaCall call("kn_dropout_backward", dy, ctx);
  const int64_t n = numel(dy);
  if (n == 0) return;
  dispatch_float(dy.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    const LaunchConfig cfg = call.grid_stride(n, kElementwiseThreads);
    dropout_backward_kernel<T><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
        logical_indexer(dx, dy, mask), static_cast<T*>(dx.data), static_cast<const T*>(dy.data),
        static_cast<const uint8_t*>(mask.data), n, static_cast<T>(dropout_scale(p)));
    call.check_launch("dropout_backward_kernel");
  });
}

}  // namespace kn::cuda
