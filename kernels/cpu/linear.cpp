// Linear (fully connected) on the CPU, GEMM through OpenBLAS.
//   forward:  y = x w^T + b          x:(N,in) w:(out,in) b:(out)? -> y:(N,out)
//   backward: dx = dy w              dy:(N,out) w:(out,in)  -> dx:(N,in)
//             dw = dy^T x            dy:(N,out) x:(N,in)    -> dw:(out,in)
//             db = sum_n dy[n, :]    dy:(N,out)             -> db:(out)
// Any strides: blas::gemm passes transposes and leading dimensions to
// OpenBLAS where it can and packs a copy only where it cannot.
//
// Threads: a large GEMM runs on OpenBLAS's threads. A small one (an MLP layer: under
// 2^24 multiply-adds) is cut by us into one block of output columns (or rows) per
// thread, each a single-threaded GEMM, inside one parallel region: OpenBLAS's own
// threading synchronises several times per call, which cost milliseconds per call on a
// loaded 2-core machine, and one fork/join is cheaper than that even unloaded. Up to
// 2^20 multiply-adds (the MLP demo's 32x128->64 and 32x64->10 layers) the GEMM runs on
// the calling thread alone: a 2^18 product is 2-4 us of compute, the fork/join of a
// second thread saved well under a microsecond of it when the machine was quiet and cost
// 3-7x the whole call when another process held the second core (linear_backward
// 32x128->64: 31 us on one thread, 104-222 us on two, same loaded machine, interleaved).
// (The tests compare 1 and 2 threads with a tolerance: y and dx may differ in the last
// bits, as they did before.)
#include <algorithm>
#include <vector>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/linear.hpp"

namespace kn::cpu {
namespace {

constexpr int64_t kSplitMinWork = int64_t(1) << 20, kOpenBlasThreadsWork = int64_t(1) << 24;

// c = alpha a b + beta c, threaded as described at the top of the file.
template <typename T>
void gemm_mt(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
             int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols, work = M * N * std::max<int64_t>(K, 1);
  // Below kSplitMinWork one thread, not even a fork inside the GEMM (see the top of the
  // file); above kOpenBlasThreadsWork OpenBLAS's threads pay off.
  if (work < kSplitMinWork) {
    blas::gemm<T>(a, b, c, alpha, beta, 1);
    return;
  }
  if (threads <= 1 || work >= kOpenBlasThreadsWork) {
    blas::gemm<T>(a, b, c, alpha, beta, threads);
    return;
  }
  // Split the larger of N and M at multiples of 64 (a multiple of OpenBLAS's register
  // tiles in both directions), so that most output elements are computed by the same
  // micro-kernel tile as in one whole GEMM. Not a guarantee of bit-identical results
  // across thread counts: OpenBLAS picks its small-matrix kernels by size (neither was
  // OpenBLAS's own threading bit-identical to one thread).
  const bool by_cols = N >= M;
  const int64_t extent = by_cols ? N : M, block = 64, blocks = (extent + block - 1) / block;
  parallel_for(blocks, 1, threads, [&](int64_t b0, int64_t b1) {
    const int64_t e0 = b0 * block, e1 = std::min(extent, b1 * block);
    if (by_cols) {
      blas::gemm<T>(a, {b.data + e0 * b.col_stride, b.rows, e1 - e0, b.row_stride, b.col_stride},
                    {c.data + e0 * c.col_stride, c.rows, e1 - e0, c.row_stride, c.col_stride},
                    alpha, beta, threads);
    } else {
      blas::gemm<T>({a.data + e0 * a.row_stride, e1 - e0, a.cols, a.row_stride, a.col_stride}, b,
                    {c.data + e0 * c.row_stride, e1 - e0, c.cols, c.row_stride, c.col_stride},
                    alpha, beta, threads);
    }
  });
}

}  // namespace

void linear_forward(const kn_tensor& x, const kn_tensor& w, const kn_tensor* b,
                    const kn_tensor& y, const CpuContext& ctx) {
  dispatch_float(x.dtype, "kn_linear_forward", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<T> Y = as_matrix<T>(y);
    if (b) {  // y = b (broadcast over rows), then y += x w^T
      const T* bias = data_as<const T>(*b);
      const int64_t bs = b->strides[0];
      parallel_for(Y.rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, Y.cols)),
                   ctx.num_threads, [&](int64_t r0, int64_t r1) {
                     for (int64_t r = r0; r < r1; ++r)
                       for (int64_t c = 0; c < Y.cols; ++c) Y.at(r, c) = bias[c * bs];
                   });
    }
    gemm_mt<T>(as_matrix<const T>(x), as_matrix<const T>(w).t(), Y, T(1), b ? T(1) : T(0),
               ctx.num_threads);
  });
}

// db[j] = sum_n dy[n, j], accumulated in double, parallel over column blocks
// (each thread owns disjoint columns, so the result is thread-count independent).
template <typename T>
static void bias_grad(const MatrixView<const T>& dy, const kn_tensor& db, int threads) {
  T* out = data_as<T>(db);
  const int64_t out_stride = db.strides[0];
  const int64_t grain = std::max<int64_t>(16, kElementwiseGrain / std::max<int64_t>(1, dy.rows));
  parallel_for(dy.cols, grain, threads, [&](int64_t c0, int64_t c1) {
    std::vector<acc_t<T>> acc(static_cast<size_t>(c1 - c0), 0.0);
    for (int64_t r = 0; r < dy.rows; ++r)
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += dy.at(r, c);
    for (int64_t c = c0; c < c1; ++c) out[c * out_stride] = T(acc[c - c0]);
  });
}

void linear_backward(const kn_tensor& dy, const kn_tensor* x, const kn_tensor* w,
                     const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,
                     const CpuContext& ctx) {
  dispatch_float(dy.dtype, "kn_linear_backward", [&](auto tag) {
    using T = decltype(tag);
    const MatrixView<const T> DY = as_matrix<const T>(dy);
    if (dx) gemm_mt<T>(DY, as_matrix<const T>(*w), as_matrix<T>(*dx), T(1), T(0), ctx.num_threads);
    if (dw)
      gemm_mt<T>(DY.t(), as_matrix<const T>(*x), as_matrix<T>(*dw), T(1), T(0), ctx.num_threads);
    if (db) bias_grad<T>(DY, *db, ctx.num_threads);
  });
}

}  // namespace kn::cpu
