// GEMM on strided matrix views, through the BLAS library (OpenBLAS or MKL),
// written once.
//
// Every matrix operand is a MatrixView: rows x cols with a row stride and a
// column stride in elements. A transpose is just swapped strides (view.t()),
// so callers write the maths (dx = dy w, dw = dy^T x) and gemm() works out
// what to hand the BLAS: a row-major or transposed operand with its leading
// dimension where the layout allows, a packed contiguous copy only where it
// does not (e.g. both strides > 1, or a broadcast stride 0).
//
// The BLAS is loaded with dlopen on first use: MKL on Intel CPUs where
// libmkl_rt can be loaded (faster there on every GEMM shape the ops use:
// blas.cpp, Library), else OpenBLAS, after choosing its kernel family ("core
// type") from this CPU's features when the user has not set
// OPENBLAS_CORETYPE: Debian's DYNAMIC_ARCH build of OpenBLAS 0.3.21
// misdetects some AVX-512 CPUs as Prescott (SSE3) and runs sgemm ~5x slower.
// KN_BLAS=openblas|mkl overrides the choice. See docs/abi.md, "BLAS".
#pragma once

#include <cstdint>

#include "kernels/internal/tensor.hpp"

namespace kn {

template <typename T>
struct MatrixView {
  T* data;
  int64_t rows, cols;
  int64_t row_stride, col_stride;  // elements

  MatrixView t() const { return {data, cols, rows, col_stride, row_stride}; }
  T& at(int64_t r, int64_t c) const { return data[r * row_stride + c * col_stride]; }
};

// The 2-D descriptor t as a matrix (t.ndim must be 2).
template <typename T>
MatrixView<T> as_matrix(const kn_tensor& t) {
  return {static_cast<T*>(t.data), t.shape[0], t.shape[1], t.strides[0], t.strides[1]};
}

namespace blas {

// c = alpha * a @ b + beta * c;   a:(M,K) b:(K,N) c:(M,N).
// beta == 0 ignores c's old contents (NaNs included). K == 0 gives beta * c.
// float32 products of the small and skinny shapes where it is measurably
// faster than the loaded BLAS (with OpenBLAS: conv's w cols, dw and dcols,
// Linear's x w^T at small batch; with MKL: fewer) run on the library's own
// kernel (gemm_ladder::packed_gemm), the rest on the BLAS library: the rule
// and its measurements, per library, are in blas.cpp (ladder_is_faster).
// Runs on `threads` threads. Throws kn::Error(KN_ERR_BACKEND) if the BLAS
// is needed and cannot be loaded, KN_ERR_UNSUPPORTED for extents over
// INT_MAX on the BLAS path.
template <typename T>
void gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
          int threads);

// The same contract, always through the BLAS library (gemm above may take
// the library's own kernel for shapes where it is faster). The GEMM ladder's
// yardstick.
template <typename T>
void library_gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha,
                  T beta, int threads);

// One line describing the loaded BLAS (version/config, core, who chose it,
// threading). Loads the BLAS if needed; throws like gemm on failure.
const char* info();

// The kernels the BLAS runs and who chose them: OpenBLAS's core type
// (openblas_get_corename), e.g. "SkylakeX (core type SkylakeX chosen by
// libkernels from CPUID)", or "MKL (chosen by libkernels: Intel CPU)": the
// "core=" part of info(). Loads the BLAS if needed; throws like info().
const char* core_info();

// Whether the BLAS in use is MKL (else OpenBLAS). Loads it if needed.
bool uses_mkl();

// The threads a GEMM may use when its bits must not depend on the thread count (conv2d's
// dw, documented bit-identical for any thread count): all of them with OpenBLAS, which
// splits a product's rows and columns over its threads but never the inner dimension;
// one with MKL, which may split the inner dimension and add the pieces in an order that
// depends on the thread count (1 and 2 threads disagreed on 6776 of 9216 elements of a
// conv dw at N=1 C=64 64x64 O=16). MKL's strict CNR mode would keep them equal but cost
// 10-35% on several conv and linear shapes (bench_gemm_ladder, Intel Xeon model 167).
int reproducible_threads(int threads);

}  // namespace blas
}  // namespace kn
