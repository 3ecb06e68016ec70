// The row kernels of layer_norm and group_norm on CUDA (a row: a NormSplit of
// kernels/internal/norm_rows.hpp; layer_norm: the last k dims, group_norm:
// one group (C/G, *) of one sample). The two ops differ only in their affine:
// layer_norm's weight and bias are per element of the row (operands of the
// element indexer), group_norm's per channel (the channel from the row index
// and a stand-in operand). Each op passes an Affine that says it:
//   Affine::row(r) -> a per-row value R with (a: the element's offsets of the
//   affine's operands, the element indexer's operands from kAffineOp on)
//     R::y(a, x, mean, rstd) -> T       forward output of one element
//     R::g(a, dy) -> double             dy w (no weight: dy), for the dx sums
//     R::dx_g(a, dy, rstd) -> T         the rstd (w dy) term of dx
// so that each op keeps its own rounding (layer_norm: ((x - m) r) w + b,
// group_norm: (x - m) (r w) + b).
//   forward:  one block per row (grid-stride over rows): mean, then the sum
//             of squared deviations (two passes over the row, in double,
//             block_all: fixed order), then y.
//   dx:       one block per row (sums of g and g (x - mean) in double), then
//             dx = rstd g + c2 (x - mean) + c3 in T.
// The (dweight, dbias) reductions are each op's own (columns of the rows for
// layer_norm, channels over (N, *) for group_norm).
#pragma once

#include <math_constants.h>

#include "kernels/cuda/row_reduce.cuh"
#include "kernels/internal/norm_rows.hpp"

namespace kn::cuda {
namespace norm_rows {

constexpr int kThreads = 256;

// Block size for rows of n elements: kThreads, or fewer whole warps.
inline unsigned row_threads(int64_t n) {
  return static_cast<unsigned>(n >= kThreads ? kThreads : ((std::max<int64_t>(n, 1) + 31) / 32) * 32);
}

// t's descriptor with element strides turned into bytes (all dims kept).
inline kn_tensor bytes(const kn_tensor& t) { return byte_row_view(t, -1); }

// rows: {y, x, mean, rstd} over the leading dims; elems: {y, x, affine...}
// over the row's dims (the affine's operands from index 2).
template <typename T, typename IndexT, size_t K, typename Affine>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(StridedIndexer<4> rows, int64_t num_rows, StridedIndexer<K> elems, int64_t n,
                   double eps, char* y, const char* x, char* mean, char* rstd, Affine affine) {
  for (int64_t r = blockIdx.x; r < num_rows; r += gridDim.x) {
    int64_t ro[4];
    rows.offsets(r, ro);
    const auto ar = affine.row(r);
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      int64_t eo[K];
      elems.offsets(static_cast<IndexT>(i), eo);
      s += double(*at_bytes<T>(x, ro[1] + eo[1]));
    }
    const double m = n > 0 ? block_all<false>(s) / double(n) : 0.0;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      int64_t eo[K];
      elems.offsets(static_cast<IndexT>(i), eo);
      const double d = double(*at_bytes<T>(x, ro[1] + eo[1])) - m;
      ss += d * d;
    }
    const double var = block_all<false>(ss);
    const double rs = n > 0 ? 1.0 / sqrt(var / double(n) + eps) : CUDART_NAN;
    if (threadIdx.x == 0) {
      *at_bytes<T>(mean, ro[2]) = T(m);
      *at_bytes<T>(rstd, ro[3]) = T(rs);
    }
    const T mt = T(m), rt = T(rs);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      int64_t eo[K];
      elems.offsets(static_cast<IndexT>(i), eo);
      *at_bytes<T>(y, ro[0] + eo[0]) = ar.y(eo + 2, *at_bytes<T>(x, ro[1] + eo[1]), mt, rt);
    }
  }
}

// rows: {dx, dy, x, mean, rstd} leading views; elems: {dx, dy, x, affine}
// (the affine's operand at index 3).
template <typename T, typename IndexT, typename Affine>
__global__ void __launch_bounds__(kThreads)
    dx_kernel(StridedIndexer<5> rows, int64_t num_rows, StridedIndexer<4> elems, int64_t n,
              char* dx, const char* dy, const char* x, const char* mean, const char* rstd,
              Affine affine) {
  for (int64_t r = blockIdx.x; r < num_rows; r += gridDim.x) {
    int64_t ro[5];
    rows.offsets(r, ro);
    const auto ar = affine.row(r);
    const T mt = *at_bytes<T>(mean, ro[3]), rt = *at_bytes<T>(rstd, ro[4]);
    const double m = double(mt);
    double sg = 0, sgd = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      int64_t eo[4];
      elems.offsets(static_cast<IndexT>(i), eo);
      const double g = ar.g(eo + 3, double(*at_bytes<T>(dy, ro[1] + eo[1])));
      sg += g;
      sgd += g * (double(*at_bytes<T>(x, ro[2] + eo[2])) - m);
    }
    const double s_g = block_all<false>(sg), s_gd = block_all<false>(sgd);
    const double rs = double(rt);
    const T c2 = n > 0 ? T(-rs * rs * rs * s_gd / double(n)) : T(0);
    const T c3 = n > 0 ? T(-rs * s_g / double(n)) : T(0);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      int64_t eo[4];
      elems.offsets(static_cast<IndexT>(i), eo);
      *at_bytes<T>(dx, ro[0] + eo[0]) = ar.dx_g(eo + 3, *at_bytes<T>(dy, ro[1] + eo[1]), rt) +
                                         c2 * (*at_bytes<T>(x, ro[2] + eo[2]) - mt) + c3;
    }
  }
}

// Launches forward_kernel over `rows` rows of n elements (n > 0 rows: the
// caller returns first for none); 32-bit element indices where n allows.
template <typename T, size_t K, typename Affine>
void launch_forward(CudaCall& call, const char* kernel, const StridedIndexer<4>& ri, int64_t rows,
                    const StridedIndexer<K>& ei, int64_t n, double eps, const kn_tensor& y,
                    const kn_tensor& x, const kn_tensor& mean, const kn_tensor& rstd,
                    const Affine& affine) {
  const unsigned threads = row_threads(n);
  const LaunchConfig cfg = call.grid_stride(rows * threads, static_cast<int>(threads));
  auto launch = [&](auto index_tag) {
    using I = decltype(index_tag);
    forward_kernel<T, I, K, Affine><<<cfg.blocks, threads, 0, call.stream()>>>(
        ri, rows, ei, n, eps, static_cast<char*>(y.data), static_cast<const char*>(x.data),
        static_cast<char*>(mean.data), static_cast<char*>(rstd.data), affine);
  };
  if (n <= INT32_MAX) launch(uint32_t{}); else launch(int64_t{});
  call.check_launch(kernel);
}

// Launches dx_kernel (rows > 0 and n > 0).
template <typename T, typename Affine>
void launch_dx(CudaCall& call, const char* kernel, const StridedIndexer<5>& ri, int64_t rows,
               const StridedIndexer<4>& ei, int64_t n, const kn_tensor& dx, const kn_tensor& dy,
               const kn_tensor& x, const kn_tensor& mean, const kn_tensor& rstd, const Affine& affine) {
  const unsigned threads = row_threads(n);
  const LaunchConfig cfg = call.grid_stride(rows * threads, static_cast<int>(threads));
  auto launch = [&](auto index_tag) {
    using I = decltype(index_tag);
    dx_kernel<T, I, Affine><<<cfg.blocks, threads, 0, call.stream()>>>(
        ri, rows, ei, n, static_cast<char*>(dx.data), static_cast<const char*>(dy.data),
        static_cast<const char*>(x.data), static_cast<const char*>(mean.data),
        static_cast<const char*>(rstd.data), affine);
  };
  if (n <= INT32_MAX) launch(uint32_t{}); else launch(int64_t{});
  call.check_launch(kernel);
}

}  // namespace norm_rows
}  // namespace kn::cuda
