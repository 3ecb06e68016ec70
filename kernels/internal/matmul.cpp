// Threaded GEMM and deterministic column sums: see matmul.hpp.
#include "kernels/internal/matmul.hpp"

#include <algorithm>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"

namespace kn {
namespace {
// The measured thresholds of matmul.hpp (multiply-adds).
constexpr int64_t kSplitMinWork = int64_t(1) << 20, kOpenBlasThreadsWork = int64_t(1) << 24;
}  // namespace

template <typename T>
void gemm_parallel(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
                   int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols, work = M * N * std::max<int64_t>(K, 1);
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
  // micro-kernel tile as in one whole GEMM.
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

// acc[j] += row[j] (double accumulators), the rows' unit-stride case: a loop
// the compiler vectorises (the strided at() loop did not: 0.37 ms for the
// 2048 x 1024 bias gradient of an LSTM layer on 2 threads).
template <typename T>
KN_SIMD_CLONES void add_row(int64_t n, const T* __restrict row, acc_t<T>* __restrict acc) {
  for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<acc_t<T>>(row[j]);
}

template <typename T>
void column_sum(MatrixView<const T> a, T* out, int64_t out_stride, int threads, bool accumulate) {
  const int64_t grain = std::max<int64_t>(16, kElementwiseGrain / std::max<int64_t>(1, a.rows));
  parallel_for(a.cols, grain, threads, [&](int64_t c0, int64_t c1) {
    std::vector<acc_t<T>> acc(static_cast<size_t>(c1 - c0), 0.0);
    if (a.col_stride == 1)
      for (int64_t r = 0; r < a.rows; ++r) add_row<T>(c1 - c0, a.data + r * a.row_stride + c0, acc.data());
    else
      for (int64_t r = 0; r < a.rows; ++r)
        for (int64_t c = c0; c < c1; ++c) acc[c - c0] += a.at(r, c);
    for (int64_t c = c0; c < c1; ++c) {
      T& o = out[c * out_stride];
      o = accumulate ? T(acc[c - c0] + o) : T(acc[c - c0]);
    }
  });
}

template void gemm_parallel<float>(MatrixView<const float>, MatrixView<const float>,
                                   MatrixView<float>, float, float, int);
template void gemm_parallel<double>(MatrixView<const double>, MatrixView<const double>,
                                    MatrixView<double>, double, double, int);
template void column_sum<float>(MatrixView<const float>, float*, int64_t, int, bool);
template void column_sum<double>(MatrixView<const double>, double*, int64_t, int, bool);

}  // namespace kn
