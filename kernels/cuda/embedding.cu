// Embedding on CUDA, the same maths as kernels/cpu/embedding.cpp (shapes there).
//
// An index outside [0, V) cannot be reported without a device synchronisation, so the
// CUDA kernels never read or write out of bounds instead: the forward writes a zero row
// of y for it, the backward and renorm ignore it.
//
// Forward: one thread per element of y (grid-stride); positions are walked in logical
// order through a StridedIndexer over indices' dims (indices and y's row offsets).
//
// Backward, deterministic without atomics, a sort or a workspace: block b owns the
// dweight rows [b R, b R + R) (R = kRows) and a tile of columns (one per thread), keeps
// their sums in shared memory, and scans ALL N positions in order (in chunks loaded to
// shared memory); a position whose index falls in its rows adds its dy element. So each
// sum runs in position order, starting from 0, exactly as the CPU kernel's (the results
// agree bitwise, the counts too). Cost: ceil(V / R) x column tiles blocks, each reading
// all N indices: O(V N / R) index reads (from L2) besides the O(N D) adds. Fine for the
// N of a batch (2048 indices into 50k rows: ~6k blocks x 2048 cached reads), slow for
// millions of indices into millions of rows; a sort-based kernel would fix that and
// needs a workspace.
//
// Renorm: block b owns the rows [b R, b R + R) of weight, finds which of them indices
// names (the same scan), then for each such row computes the norm (double, a fixed-order
// block reduction) and scales the row. Rows are disjoint between blocks.
#include <cmath>

#include "kernels/cuda/common.cuh"
#include "kernels/ops/embedding.hpp"

namespace kn::cuda {
namespace {

constexpr int kRows = 16;         // dweight / weight rows per block
constexpr int kMaxThreads = 256;  // threads per block (columns of a tile)

// Offsets of position i in indices (operand 0) and in the rows operand y / dy (operand
// 1: its first k dims), in LOGICAL row-major order: dim 0 of the indexer is indices'
// last dim (no reordering, so every block walks positions in the same, logical order).
StridedIndexer<2> position_indexer(const kn_tensor& indices, const kn_tensor* rows) {
  StridedIndexer<2> ix{};
  ix.ndim = 0;
  for (int d = indices.ndim - 1; d >= 0; --d) {
    if (indices.shape[d] == 1) continue;
    ix.shape[ix.ndim] = indices.shape[d];
    ix.strides[0][ix.ndim] = indices.strides[d];
    ix.strides[1][ix.ndim] = rows ? rows->strides[d] : 0;
    ++ix.ndim;
  }
  if (ix.ndim == 0) {  // one position at offset 0
    ix.ndim = 1;
    ix.shape[0] = 1;
    ix.strides[0][0] = ix.strides[1][0] = 0;
  }
  return ix;
}

template <typename I>
__device__ __forceinline__ int64_t load_index(const I* p) {
  return static_cast<int64_t>(*p);
}

template <typename T, typename I>
__global__ void embedding_forward_kernel(StridedIndexer<2> ix, const T* w, int64_t V, int64_t D,
                                         int64_t ws0, int64_t ws1, const I* indices, T* y,
                                         int64_t ys1, int64_t total) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const int64_t i = e / D, j = e - i * D;
    int64_t off[2];
    ix.offsets(i, off);
    const int64_t v = load_index(indices + off[0]);
    y[off[1] + j * ys1] = (v >= 0 && v < V) ? w[v * ws0 + j * ws1] : T(0);
  }
}

// Loads positions [base, base + blockDim.x) of the scan: their index (-1 when past the end)
// and dy row offset.
template <typename I>
__device__ __forceinline__ void load_chunk(const StridedIndexer<2>& ix, const I* indices, int64_t n,
                                           int64_t base, int64_t* s_idx, int64_t* s_off) {
  const int64_t i = base + threadIdx.x;
  int64_t v = -1, o = 0;
  if (i < n) {
    int64_t off[2];
    ix.offsets(i, off);
    v = load_index(indices + off[0]);
    o = off[1];
  }
  s_idx[threadIdx.x] = v;
  s_off[threadIdx.x] = o;
}

template <typename T, typename I>
__global__ void __launch_bounds__(kMaxThreads)
    embedding_backward_kernel(StridedIndexer<2> ix, const I* indices, int64_t n, const T* dy,
                              int64_t gs1, T* dw, int64_t V, int64_t D, int64_t ws0, int64_t ws1,
                              int64_t pad, int scale) {
  __shared__ int64_t s_idx[kMaxThreads], s_off[kMaxThreads];
  __shared__ T s_sum[kRows][kMaxThreads];
  __shared__ int64_t s_count[kRows];
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int64_t j = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  for (int r = 0; r < kRows; ++r) s_sum[r][threadIdx.x] = T(0);
  if (threadIdx.x < kRows) s_count[threadIdx.x] = 0;
  for (int64_t base = 0; base < n; base += blockDim.x) {
    __syncthreads();  // the previous chunk is consumed
    load_chunk(ix, indices, n, base, s_idx, s_off);
    __syncthreads();
    const int64_t rest = n - base;
    const int m = rest < static_cast<int64_t>(blockDim.x) ? static_cast<int>(rest) : static_cast<int>(blockDim.x);
    for (int q = 0; q < m; ++q) {
      const int64_t v = s_idx[q];  // the same for every thread: no divergence
      if (v < r0 || v >= r0 + kRows || v >= V || v == pad) continue;
      const int r = static_cast<int>(v - r0);
      if (j < D) s_sum[r][threadIdx.x] += dy[s_off[q] + j * gs1];
      if (threadIdx.x == 0) ++s_count[r];
    }
  }
  __syncthreads();
  if (j >= D) return;
  for (int r = 0; r < kRows && r0 + r < V; ++r) {
    T s = s_sum[r][threadIdx.x];
    const int64_t c = s_count[r];
    if (scale && c > 1) s /= static_cast<T>(c);
    dw[(r0 + r) * ws0 + j * ws1] = s;
  }
}

// Sum (or max, NaN-propagating) of v over the block in a fixed order: valid in thread 0.
__device__ __forceinline__ double block_max(double v) {
  __shared__ double warp_max[32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int o = 16; o > 0; o /= 2) {
    const double u = __shfl_down_sync(0xffffffffu, v, o);
    if (u > v || u != u) v = u;
  }
  if (lane == 0) warp_max[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < blockDim.x / 32 ? warp_max[lane] : 0.0;
    for (int o = 16; o > 0; o /= 2) {
      const double u = __shfl_down_sync(0xffffffffu, v, o);
      if (u > v || u != u) v = u;
    }
  }
  return v;
}

template <typename T, typename I>
__global__ void __launch_bounds__(kMaxThreads)
    embedding_renorm_kernel(StridedIndexer<2> ix, const I* indices, int64_t n, T* w, int64_t V,
                            int64_t D, int64_t ws0, int64_t ws1, double max_norm, double p) {
  __shared__ int s_used[kRows];
  __shared__ double s_scale;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kRows;
  if (threadIdx.x < kRows) s_used[threadIdx.x] = 0;
  __syncthreads();
  for (int64_t base = 0; base < n; base += blockDim.x) {
    const int64_t i = base + threadIdx.x;
    if (i < n) {
      int64_t off[2];
      ix.offsets(i, off);
      const int64_t v = load_index(indices + off[0]);
      if (v >= r0 && v < r0 + kRows && v < V) s_used[v - r0] = 1;  // same value from any thread
    }
  }
  __syncthreads();
  for (int r = 0; r < kRows && r0 + r < V; ++r) {
    if (!s_used[r]) continue;  // block-uniform
    T* row = w + (r0 + r) * ws0;
    double acc = 0;
    const bool inf = isinf(p);
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const double a = fabs(static_cast<double>(row[j * ws1]));
      if (inf) {
        if (a > acc || a != a) acc = a;
      } else {
        acc += p == 1.0 ? a : p == 2.0 ? a * a : pow(a, p);
      }
    }
    const double total = inf ? block_max(acc) : block_sum(acc);
    if (threadIdx.x == 0) {
      const double norm = inf || p == 1.0 ? total : p == 2.0 ? sqrt(total) : pow(total, 1.0 / p);
      s_scale = norm > max_norm ? max_norm / (norm + 1e-7) : 1.0;  // NaN: unchanged
    }
    __syncthreads();
    const double scale = s_scale;
    if (scale != 1.0) {
      const T s = static_cast<T>(scale);
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) row[j * ws1] *= s;
    }
    __syncthreads();  // s_scale and the reductions' shared memory are reused
  }
}

// Threads per block for D columns: a multiple of 32 in [32, kMaxThreads].
int column_threads(int64_t D) {
  const int64_t t = (D + 31) / 32 * 32;
  return static_cast<int>(t < 32 ? 32 : t > kMaxThreads ? kMaxThreads : t);
}

}  // namespace

void embedding_forward(const kn_tensor& weight, const kn_tensor& indices, const kn_tensor& y,
                       const CudaContext& ctx) {
  CudaCall call("kn_embedding_forward", weight, ctx);
  const int64_t total = numel(y);
  if (total == 0) return;
  const int64_t V = weight.shape[0], D = weight.shape[1];
  dispatch_float(weight.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      const LaunchConfig cfg = call.grid_stride(total, kElementwiseThreads);
      embedding_forward_kernel<T, I><<<cfg.blocks, cfg.threads, 0, call.stream()>>>(
          position_indexer(indices, &y), static_cast<const T*>(weight.data), V, D,
          weight.strides[0], weight.strides[1], static_cast<const I*>(indices.data),
          static_cast<T*>(y.data), y.strides[indices.ndim], total);
      call.check_launch("embedding_forward_kernel");
    });
  });
}

void embedding_backward(const kn_embedding_params& p, const kn_tensor& dy, const kn_tensor& indices,
                        const kn_tensor& dweight, const CudaContext& ctx) {
  CudaCall call("kn_embedding_backward", dy, ctx);
  if (numel(dweight) == 0) return;
  const int64_t V = dweight.shape[0], D = dweight.shape[1], n = numel(indices);
  const int threads = column_threads(D);
  const int64_t row_blocks = (V + kRows - 1) / kRows, col_blocks = (D + threads - 1) / threads;
  if (row_blocks > INT32_MAX || col_blocks > 65535)
    fail(KN_ERR_UNSUPPORTED, call.op(), ": dweight: shape (", V, ", ", D,
         ") is too large for the CUDA kernel's grid");
  dispatch_float(dy.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      const dim3 grid(static_cast<unsigned>(row_blocks), static_cast<unsigned>(col_blocks));
      embedding_backward_kernel<T, I><<<grid, threads, 0, call.stream()>>>(
          position_indexer(indices, &dy), static_cast<const I*>(indices.data), n,
          static_cast<const T*>(dy.data), dy.strides[indices.ndim], static_cast<T*>(dweight.data),
          V, D, dweight.strides[0], dweight.strides[1], p.padding_idx, p.scale_grad_by_freq);
      call.check_launch("embedding_backward_kernel");
    });
  });
}

void embedding_renorm(double max_norm, double norm_type, const kn_tensor& weight,
                      const kn_tensor& indices, const CudaContext& ctx) {
  CudaCall call("kn_embedding_renorm", weight, ctx);
  const int64_t n = numel(indices);
  if (numel(weight) == 0 || n == 0) return;
  const int64_t V = weight.shape[0], D = weight.shape[1];
  const int64_t row_blocks = (V + kRows - 1) / kRows;
  if (row_blocks > INT32_MAX)
    fail(KN_ERR_UNSUPPORTED, call.op(), ": weight: ", V, " rows are too many for the CUDA kernel's grid");
  dispatch_float(weight.dtype, call.op(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype, call.op(), [&](auto itag) {
      using I = decltype(itag);
      embedding_renorm_kernel<T, I><<<static_cast<unsigned>(row_blocks), kMaxThreads, 0, call.stream()>>>(
          position_indexer(indices, nullptr), static_cast<const I*>(indices.data), n,
          static_cast<T*>(weight.data), V, D, weight.strides[0], weight.strides[1], max_norm,
          norm_type);
      call.check_launch("embedding_renorm_kernel");
    });
  });
}

}  // namespace kn::cuda
