// The from-scratch GEMM ladder (issue 5): float32 C = alpha * op(A) op(B) + beta * C,
// written six ways from the textbook triple loop up to a threaded, packed,
// register-blocked AVX-512 kernel, plus OpenBLAS as the yardstick. Each step
// is a real, tested kernel (tests/cpp/test_internal_gemm_ladder.cpp) and is
// timed by benchmarks/bench_gemm_ladder.cpp; gemm_ladder.cpp explains at its
// top what each step changes and why it is faster.
//
// All steps share one BLAS-like signature, row-major:
//   op(A) is M x K: A[i*lda + k] (trans_a = false) or A[k*lda + i] (true);
//   op(B) is K x N: B[k*ldb + j] (trans_b = false) or B[j*ldb + k] (true);
//   C is M x N:     C[i*ldc + j].
// beta == 0 ignores C's old contents (NaNs included); K == 0 gives beta * C.
// Leading dimensions must be at least the row width (as in CBLAS).
//
// packed_gemm() is the general entry of steps 4/5 on strided views (any row
// and column strides, as kn::blas::gemm takes them); kn::blas::gemm calls it
// for the small and skinny shapes where it beats OpenBLAS (see blas.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/internal/blas.hpp"

namespace kn {
namespace gemm_ladder {

#define KN_GEMM_LADDER_ARGS                                                            \
  bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,            \
      const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, \
      int64_t ldc

// 1. naive triple loop (i, j, k): one dot product per element of C.
void naive(KN_GEMM_LADDER_ARGS);
// 2. loop order (i, k, j): the inner loop is a unit-stride axpy on a row of C.
void reordered(KN_GEMM_LADDER_ARGS);
// 3. cache-blocked (i, k, j) over tiles that stay in L1/L2.
void blocked(KN_GEMM_LADDER_ARGS);
// 4. packed panels + register-blocked micro-kernel (AVX-512 where available).
void packed(KN_GEMM_LADDER_ARGS);
// 5. step 4 on `threads` OpenMP threads.
void packed_threaded(KN_GEMM_LADDER_ARGS, int threads);
// 6. the BLAS library (kn::blas::library_gemm: OpenBLAS or MKL, never this
//    ladder; kn::blas::info() names it).
void vendor_blas(KN_GEMM_LADDER_ARGS, int threads);

// Steps 4/5 on strided views: c = alpha a b + beta c, a:(M,K) b:(K,N) c:(M,N),
// any strides (0 and negative included), on at most `threads` threads (fewer
// when the product is too small to pay for a fork). The result does not
// depend on the thread count (each C tile is summed by one thread in a fixed
// order).
void packed_gemm(MatrixView<const float> a, MatrixView<const float> b, MatrixView<float> c,
                 float alpha, float beta, int threads);

// B packed once for many products with different A and C (an RNN's recurrent
// weight over all its time steps: repacking a 256 x 1024 B for every step of
// 64 rows was about a quarter of the step's time). b:(K,N), any strides; the
// PackedB keeps its own copy.
class PackedB {
 public:
  // `storage`: a vector to pack into (its capacity reused: no new pages for a
  // caller that packs the same sizes again and again); take_storage() gives it back.
  explicit PackedB(MatrixView<const float> b, std::vector<float> storage = {});
  std::vector<float> take_storage() { return std::move(data_); }
  int64_t rows() const { return K_; }
  int64_t cols() const { return N_; }
  const float* data() const { return base_; }
  int64_t panels() const { return panels_; }  // NR-column panels

 private:
  int64_t K_, N_, panels_;
  std::vector<float> data_;
  float* base_;  // data_, 64-byte aligned
};

// packed_gemm with a prepacked B: c = alpha a b + beta c, a:(M,K) c:(M,N), any
// strides (C with a unit column stride is written directly, any other through
// a tile buffer), with the micro-kernels of packed_gemm.
void packed_gemm(MatrixView<const float> a, const PackedB& b, MatrixView<float> c, float alpha,
                 float beta, int threads);
// The same with columns [b_col0, b_col0 + c.cols) of B (b_col0 a multiple of
// kPanelCols): one thread's share of the columns.
constexpr int64_t kPanelCols = 32;
void packed_gemm(MatrixView<const float> a, const PackedB& b, int64_t b_col0, MatrixView<float> c,
                 float alpha, float beta, int threads);

// Which micro-kernel packed_gemm runs on this CPU: "avx512" or "portable".
const char* micro_kernel_name();
// Whether packed_gemm runs its AVX-512 kernels (kn::blas::gemm only picks the
// ladder then: the portable kernels are no match for OpenBLAS).
bool uses_avx512();
// For kn_cpu_info: the micro-kernel, its MR x NR tile, and whether
// kn::blas::gemm routes float32 products to the ladder (uses_avx512()), e.g.
// "avx512 6x32 micro-kernel, small float32 GEMMs routed to it".
std::string describe();
// Tests: force the portable micro-kernel (true) or restore CPU detection (false).
void force_portable_micro_kernel(bool on);

}  // namespace gemm_ladder
}  // namespace kn
