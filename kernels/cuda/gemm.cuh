// GEMM and column sums on strided matrix views on CUDA (kernels/cuda/gemm.cu),
// shared by the ops built on them (linear, rnn). Launch on call.stream() only;
// no allocation apart from a cuBLAS handle per (thread, device) on first use.
#pragma once

#include <cstdint>

#include "kernels/cuda/common.cuh"
#include "kernels/internal/blas.hpp"  // MatrixView

namespace kn::cuda {

// c = alpha a b + beta c;  a:(M,K) b:(K,N) c:(M,N), any strides (negative, 0).
// beta == 0 ignores c's old contents (NaN included); K == 0 gives beta c.
template <typename T>
void gemm(CudaCall& call, MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha,
          T beta);

// out[j * out_stride] = sum_r a(r, j), deterministic (double accumulators,
// a fixed order, no atomics).
template <typename T>
void column_sum(CudaCall& call, MatrixView<const T> a, T* out, int64_t out_stride);

}  // namespace kn::cuda
