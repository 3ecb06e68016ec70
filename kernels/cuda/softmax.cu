// Softmax and log-softmax along one dim on CUDA (maths as kernels/cpu/softmax.cpp):
//   softmax     y = exp(x - m) / sum exp(x - m);   dx = y (dy - sum(dy y))
//   log_softmax y = (x - m) - log sum exp(x - m);  dx = dy - exp(y) sum(dy)
// One block per row (grid-stride over rows), threads striding over the row;
// max and sums through block_all (fixed order: deterministic), sums in
// double. Each element is read and written by one thread after the row's
// reductions, so y = x / dx = dy in place is safe. No allocation, no sync.
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/ops/softmax.hpp"

namespace kn::cuda {
namespace {

template <typename T>
__global__ void __launch_bounds__(256)
    softmax_forward_kernel(bool log, StridedIndexer<2> rows, int64_t num_rows, int64_t n,
                           int64_t sx, int64_t sy, char* y, const char* x) {
  for (int64_t r = blockIdx.x; r < num_rows; r += gridDim.x) {
    int64_t off[2];
    rows.offsets(r, off);
    T* yr = at_bytes<T>(y, off[0]);
    const T* xr = at_bytes<T>(x, off[1]);
    T m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = xr[i * sx] > m ? xr[i * sx] : m;
    const T mx = T(block_all<true>(double(m)));
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += double(dev_exp<T>(xr[i * sx] - mx));
    const double sum = block_all<false>(s);
    if (log) {
      const T ls = T(::log(sum));
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i * sy] = (xr[i * sx] - mx) - ls;
    } else {
      const T inv = T(1.0 / sum);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        yr[i * sy] = dev_exp<T>(xr[i * sx] - mx) * inv;
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(256)
    softmax_backward_kernel(bool log, StridedIndexer<3> rows, int64_t num_rows, int64_t n,
                            int64_t sdx, int64_t sdy, int64_t sy, char* dx, const char* dy,
                            const char* y) {
  for (int64_t r = blockIdx.x; r < num_rows; r += gridDim.x) {
    int64_t off[3];
    rows.offsets(r, off);
    T* dxr = at_bytes<T>(dx, off[0]);
    const T* dyr = at_bytes<T>(dy, off[1]);
    const T* yr = at_bytes<T>(y, off[2]);
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      s += log ? double(dyr[i * sdy]) : double(dyr[i * sdy]) * double(yr[i * sy]);
    const T sum = T(block_all<false>(s));
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const T g = dyr[i * sdy], v = yr[i * sy];
      dxr[i * sdx] = log ? g - dev_exp<T>(v) * sum : v * (g - sum);
    }
  }
}

// Threads per row: a multiple of 32 covering n, at most 256.
unsigned row_threads(int64_t n) {
  return static_cast<unsigned>(n >= 256 ? 256 : ((std::max<int64_t>(n, 1) + 31) / 32) * 32);
}

}  // namespace

void softmax_forward(bool log, int dim, const kn_tensor& x, const kn_tensor& y,
                     const CudaContext& ctx) {
  CudaCall call(log ? "kn_log_softmax_forward" : "kn_softmax_forward", x, ctx);
  if (numel(x) == 0) return;
  dispatch_float(x.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    int64_t rows = 0;
    const StridedIndexer<2> ix = row_indexer<2>({byte_row_view(y, dim), byte_row_view(x, dim)}, rows);
    const int64_t n = x.shape[dim];
    const unsigned threads = row_threads(n);
    const LaunchConfig cfg = call.grid_stride(rows * threads, static_cast<int>(threads));
    softmax_forward_kernel<T><<<cfg.blocks, threads, 0, call.stream()>>>(
        log, ix, rows, n, x.strides[dim], y.strides[dim], static_cast<char*>(y.data),
        static_cast<const char*>(x.data));
    call.check_launch("softmax_forward_kernel");
  });
}

void softmax_backward(bool log, int dim, const kn_tensor& dy, const kn_tensor& y,
                      const kn_tensor& dx, const CudaContext& ctx) {
  CudaCall call(log ? "kn_log_softmax_backward" : "kn_softmax_backward", y, ctx);
  if (numel(dx) == 0) return;
  dispatch_float(y.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    int64_t rows = 0;
    const StridedIndexer<3> ix = row_indexer<3>(
        {byte_row_view(dx, dim), byte_row_view(dy, dim), byte_row_view(y, dim)}, rows);
    const int64_t n = y.shape[dim];
    const unsigned threads = row_threads(n);
    const LaunchConfig cfg = call.grid_stride(rows * threads, static_cast<int>(threads));
    softmax_backward_kernel<T><<<cfg.blocks, threads, 0, call.stream()>>>(
        log, ix, rows, n, dx.strides[dim], dy.strides[dim], y.strides[dim],
        static_cast<char*>(dx.data), static_cast<const char*>(dy.data),
        static_cast<const char*>(y.data));
    call.check_launch("softmax_backward_kernel");
  });
}

}  // namespace kn::cuda
