// Threaded matrix products and column sums on strided views, written once for
// the ops built on GEMM (linear, rnn): kernels/internal/matmul.cpp.
//
// gemm_parallel decides how a GEMM uses `threads`:
//   - under 2^20 multiply-adds: the calling thread alone. A 2^18 product is
//     2-4 us of compute; the fork/join of a second thread saved well under a
//     microsecond of it when the machine was quiet and cost 3-7x the whole
//     call when another process held the second core (linear_backward
//     32x128->64: 31 us on one thread, 104-222 us on two, same loaded
//     machine, interleaved);
//   - from 2^24: OpenBLAS's own threads pay off;
//   - between: we cut the output into one block of 64 columns (or rows) per
//     thread, each a single-threaded GEMM, inside one parallel region.
//     OpenBLAS's own threading synchronises several times per call, which
//     cost milliseconds per call on a loaded 2-core machine, and one
//     fork/join is cheaper than that even unloaded.
// Results may differ in the last bits between thread counts (OpenBLAS picks
// its small-matrix kernels by size), as OpenBLAS's own threading does.
//
// column_sum is deterministic: each thread owns whole columns and adds the
// rows in order in double, so the bits do not depend on the thread count.
#pragma once

#include <cstdint>

#include "kernels/internal/blas.hpp"

namespace kn {

// c = alpha a b + beta c;  a:(M,K) b:(K,N) c:(M,N), any strides; threaded as above.
template <typename T>
void gemm_parallel(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
                   int threads);

// out[j * out_stride] = (accumulate ? out[j * out_stride] : 0) + sum_r a(r, j)
// a:(R,C) -> out:(C). With accumulate, the old value is added after the rows' sum.
template <typename T>
void column_sum(MatrixView<const T> a, T* out, int64_t out_stride, int threads,
                bool accumulate = false);

}  // namespace kn
