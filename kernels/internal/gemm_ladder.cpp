// The GEMM ladder: C = alpha * A B + beta * C in float32, from nested loops to
// the library. Every step computes the same thing; what changes is how the
// 2MNK flops are fed from memory.
//
// 1. naive (i, j, k). Each C element is a dot product of a row of A with a
//    COLUMN of B: the inner loop walks B with stride ldb, touching a new cache
//    line per flop pair, and the float sum is a serial dependency chain (the
//    compiler may not reassociate it), so it neither vectorises nor hides the
//    4-cycle add latency. Memory-latency bound: ~1 GFLOP/s at large sizes.
// 2. reordered (i, k, j). Same loops, k before j: the inner loop becomes
//    C[i, :] += A[i,k] * B[k, :], an axpy over two unit-stride rows. The
//    compiler vectorises it (KN_SIMD_CLONES: AVX-512/AVX2/SSE chosen at load
//    time) and the j iterations are independent. Now bound by the L1/L2
//    traffic: every FMA loads one B element and loads+stores one C element,
//    and for large N the B rows stream from L3/DRAM once per row of C.
// 3. blocked. The same (i, k, j) order inside NB x KB tiles of B (KB rows of
//    NB floats, sized for L2) reused by all rows of A, with the C row chunk
//    (NB floats) staying in L1 while k runs through the tile. Memory traffic
//    drops from O(MNK) to O(MNK / tile); still 1 load + 1 store per FMA.
// 4. packed + register-blocked micro-kernel (the BLIS/GotoBLAS scheme).
//    Loops: jc over NC columns of B, pc over KC rows, ic over MC rows of A,
//    then jr over NR = 32 columns and ir over MR rows: the micro-kernel
//    keeps an MR x 32 block of C in 2*MR zmm registers and, per k, loads two
//    vectors of B, broadcasts MR values of A and issues 2*MR FMAs: no C
//    traffic in the inner loop, 2 + MR loads per 2*MR FMAs. A (MC x KC, alpha
//    folded in) and B (KC x NC) are copied ("packed") into contiguous
//    micro-panels in exactly the order the micro-kernel reads them, so every
//    load is unit-stride and aligned, whatever the caller's strides or
//    transposes; edge panels are zero-padded and their tiles go through a
//    small buffer. Sizes: a KC x 32 panel of B lives in L1 across the ir
//    loop, the MC x KC block of A in L2, the KC x NC panel of B in L3.
//    The AVX-512 micro-kernel is compiled with target("avx512f,fma") and
//    chosen at run time (__builtin_cpu_supports); other CPUs get a portable
//    C++ micro-kernel with the same packing.
// 5. threaded: step 4 inside one OpenMP team. B panels and A blocks are
//    packed cooperatively (omp for), then the (jr, ir) tiles of the macro
//    kernel are split between threads. Each C tile is accumulated by one
//    thread over k in a fixed order, so results do not depend on the
//    thread count.
// 6. OpenBLAS (its SkylakeX kernels, which do what step 5 does in assembly).
#include "kernels/internal/gemm_ladder.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KN_LADDER_X86 1
#endif

#include "kernels/internal/simd.hpp"

namespace kn {
namespace gemm_ladder {
namespace {

MatrixView<const float> op_view(bool trans, int64_t rows, int64_t cols, const float* p,
                                int64_t ld) {
  return trans ? MatrixView<const float>{p, rows, cols, 1, ld}
               : MatrixView<const float>{p, rows, cols, ld, 1};
}

// C = beta * C (beta == 0: zeros, ignoring NaNs in C).
void scale_rows(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.f)
      std::fill(c, c + N, 0.f);
    else if (beta != 1.f)
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

}  // namespace

// ------------------------------------------------------------------ step 1

void naive(KN_GEMM_LADDER_ARGS) {
  const MatrixView<const float> a = op_view(trans_a, M, K, A, lda);
  const MatrixView<const float> b = op_view(trans_b, K, N, B, ldb);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float sum = 0.f;
      for (int64_t k = 0; k < K; ++k) sum += a.at(i, k) * b.at(k, j);
      float& c = C[i * ldc + j];
      c = alpha * sum + (beta == 0.f ? 0.f : beta * c);
    }
}

// ------------------------------------------------------------------ step 2

KN_SIMD_CLONES void reordered(KN_GEMM_LADDER_ARGS) {
  const MatrixView<const float> a = op_view(trans_a, M, K, A, lda);
  const MatrixView<const float> b = op_view(trans_b, K, N, B, ldb);
  scale_rows(M, N, beta, C, ldc);
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict c = C + i * ldc;
    for (int64_t k = 0; k < K; ++k) {
      const float aik = alpha * a.at(i, k);
      const float* __restrict brow = &b.at(k, 0);
      if (b.col_stride == 1)
        for (int64_t j = 0; j < N; ++j) c[j] += aik * brow[j];
      else
        for (int64_t j = 0; j < N; ++j) c[j] += aik * brow[j * b.col_stride];
    }
  }
}

// ------------------------------------------------------------------ step 3

namespace {
constexpr int64_t kBlockM = 32, kBlockK = 128, kBlockN = 512;  // B tile 256 KiB (L2)
}

KN_SIMD_CLONES void blocked(KN_GEMM_LADDER_ARGS) {
  const MatrixView<const float> a = op_view(trans_a, M, K, A, lda);
  const MatrixView<const float> b = op_view(trans_b, K, N, B, ldb);
  scale_rows(M, N, beta, C, ldc);
  for (int64_t j0 = 0; j0 < N; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
      const int64_t kb = std::min(kBlockK, K - k0);
      for (int64_t i0 = 0; i0 < M; i0 += kBlockM) {
        const int64_t mb = std::min(kBlockM, M - i0);
        for (int64_t i = i0; i < i0 + mb; ++i) {
          float* __restrict c = C + i * ldc + j0;
          for (int64_t k = k0; k < k0 + kb; ++k) {
            const float aik = alpha * a.at(i, k);
            const float* __restrict brow = &b.at(k, j0);
            if (b.col_stride == 1)
              for (int64_t j = 0; j < nb; ++j) c[j] += aik * brow[j];
            else
              for (int64_t j = 0; j < nb; ++j) c[j] += aik * brow[j * b.col_stride];
          }
        }
      }
    }
  }
}

// -------------------------------------------------------------- steps 4, 5

namespace {

constexpr int kNR = 32;  // two zmm vectors of C per micro-kernel row

// Micro-kernel contract: a = MR x kc packed (k-major, MR values per k), b =
// kc x NR packed (NR values per k, 64-byte aligned); writes the MR x NR tile
// c (row stride ldc, unit column stride) = acc + beta * c, or = acc when
// beta == 0 (old contents ignored).
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             float beta);

template <int MR>
void micro_portable(int64_t kc, const float* __restrict a, const float* __restrict b,
                    float* __restrict c, int64_t ldc, float beta) {
  float acc[MR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += kNR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < kNR; ++j)
      c[i * ldc + j] = beta == 0.f ? acc[i][j] : acc[i][j] + beta * c[i * ldc + j];
}

#ifdef KN_LADDER_X86
template <int MR>
__attribute__((target("avx512f,fma"))) void micro_avx512(int64_t kc, const float* __restrict a,
                                                         const float* __restrict b,
                                                         float* __restrict c, int64_t ldc,
                                                         float beta) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += kNR;
  }
  if (beta == 0.f) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(c + i * ldc, c0[i]);
      _mm512_storeu_ps(c + i * ldc + 16, c1[i]);
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc), c0[i]));
      _mm512_storeu_ps(c + i * ldc + 16,
                       _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc + 16), c1[i]));
    }
  }
}
#endif

bool g_force_portable = false;

bool cpu_has_avx512() {
#ifdef KN_LADDER_X86
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

// Blocking (floats). MC x KC of A in L2, KC x NC of B in L3, KC x 32 in L1.
constexpr int64_t kMC = 240, kKC = 256, kNC = 4096;

// 64-byte aligned, grow-only scratch owned by the calling thread.
float* scratch(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n + 16) v.resize(static_cast<size_t>(n + 16));
  auto p = reinterpret_cast<uintptr_t>(v.data());
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
}

// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of alpha * a into MR-row panels.
template <int MR>
void pack_a_panel(const MatrixView<const float>& a, int64_t i0, int64_t mr, int64_t p0,
                  int64_t kc, float alpha, float* __restrict dst) {
  const float* src = a.data + i0 * a.row_stride + p0 * a.col_stride;
  const int64_t rs = a.row_stride, cs = a.col_stride;
  if (mr == MR) {
    if (cs == 1) {
      for (int i = 0; i < MR; ++i) {
        const float* __restrict s = src + i * rs;
        for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = alpha * s[k];
      }
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < MR; ++i) dst[k * MR + i] = alpha * src[i * rs + k * cs];
    }
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < MR; ++i) dst[k * MR + i] = i < mr ? alpha * src[i * rs + k * cs] : 0.f;
  }
}

void pack_b_panel(const MatrixView<const float>& b, int64_t p0, int64_t kc, int64_t j0,
                  int64_t nr, float* __restrict dst) {
  const float* src = b.data + p0 * b.row_stride + j0 * b.col_stride;
  const int64_t rs = b.row_stride, cs = b.col_stride;
  if (nr == kNR && cs == 1) {
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * kNR, src + k * rs, kNR * sizeof(float));
  } else if (nr == kNR && rs == 1) {  // b transposed: read along k
    for (int j = 0; j < kNR; ++j) {
      const float* __restrict s = src + j * cs;
      for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = s[k];
    }
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int j = 0; j < kNR; ++j) dst[k * kNR + j] = j < nr ? src[k * rs + j * cs] : 0.f;
  }
}

thread_local std::vector<float> t_pack_a, t_pack_b;

template <int MR>
void packed_driver(MatrixView<const float> a, MatrixView<const float> b, MatrixView<float> c,
                   float alpha, float beta, int threads, MicroKernel kernel) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  const int64_t MC = std::min<int64_t>((kMC + MR - 1) / MR * MR, (M + MR - 1) / MR * MR);
  const int64_t KC = std::min<int64_t>(kKC, K);
  const int64_t NC = std::min<int64_t>(kNC, (N + kNR - 1) / kNR * kNR);
  float* const pa = scratch(t_pack_a, MC * KC);
  float* const pb = scratch(t_pack_b, KC * NC);
  const bool c_unit = c.col_stride == 1;

#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  {
    alignas(64) float tile[MR * kNR];
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc), np = (nc + kNR - 1) / kNR;
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const float beta_k = pc == 0 ? beta : 1.f;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int64_t jp = 0; jp < np; ++jp)
          pack_b_panel(b, pc, kc, jc + jp * kNR, std::min<int64_t>(kNR, nc - jp * kNR),
                       pb + jp * kNR * kc);
        for (int64_t ic = 0; ic < M; ic += MC) {
          const int64_t mc = std::min(MC, M - ic), mp = (mc + MR - 1) / MR;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
          for (int64_t ip = 0; ip < mp; ++ip)
            pack_a_panel<MR>(a, ic + ip * MR, std::min<int64_t>(MR, mc - ip * MR), pc, kc, alpha,
                             pa + ip * MR * kc);
#ifdef _OPENMP
#pragma omp for collapse(2) schedule(static)
#endif
          for (int64_t jp = 0; jp < np; ++jp)
            for (int64_t ip = 0; ip < mp; ++ip) {
              const int64_t i0 = ic + ip * MR, j0 = jc + jp * kNR;
              const int64_t mr = std::min<int64_t>(MR, M - i0), nr = std::min<int64_t>(kNR, N - j0);
              const float* ap = pa + ip * MR * kc;
              const float* bp = pb + jp * kNR * kc;
              float* ct = c.data + i0 * c.row_stride + j0 * c.col_stride;
              if (mr == MR && nr == kNR && c_unit) {
                kernel(kc, ap, bp, ct, c.row_stride, beta_k);
              } else {
                kernel(kc, ap, bp, tile, kNR, 0.f);
                for (int64_t i = 0; i < mr; ++i)
                  for (int64_t j = 0; j < nr; ++j) {
                    float& out = ct[i * c.row_stride + j * c.col_stride];
                    out = tile[i * kNR + j] + (beta_k == 0.f ? 0.f : beta_k * out);
                  }
              }
            }
        }
      }
    }
  }
}

constexpr int kMR = 6;

MicroKernel pick_kernel() {
#ifdef KN_LADDER_X86
  if (!g_force_portable && cpu_has_avx512()) return micro_avx512<kMR>;
#endif
  return micro_portable<kMR>;
}

// Threads worth forking for a product of M x N x K (a fork/join and the
// shared packing cost a few microseconds).
int useful_threads(int threads, int64_t M, int64_t N, int64_t K) {
  if (threads <= 1) return 1;
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int64_t tiles = ((M + kMR - 1) / kMR) * ((N + kNR - 1) / kNR);
  if (flops < 2.0e6 || tiles < 2) return 1;
  return static_cast<int>(std::min<int64_t>(threads, tiles));
}

}  // namespace

void packed_gemm(MatrixView<const float> a, MatrixView<const float> b, MatrixView<float> c,
                 float alpha, float beta, int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.f) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float& out = c.at(i, j);
        out = beta == 0.f ? 0.f : beta * out;
      }
    return;
  }
  if (N == 1) c.col_stride = 1;  // never used; lets a column vector take the fast path
  // C with unit row stride (a transposed output): compute C^T = B^T A^T.
  if (c.col_stride != 1 && c.row_stride == 1) {
    std::swap(a, b);
    a = a.t(), b = b.t(), c = c.t();
  }
  packed_driver<kMR>(a, b, c, alpha, beta, useful_threads(threads, M, N, K), pick_kernel());
}

void packed(KN_GEMM_LADDER_ARGS) {
  packed_gemm(op_view(trans_a, M, K, A, lda), op_view(trans_b, K, N, B, ldb),
              MatrixView<float>{C, M, N, ldc, 1}, alpha, beta, 1);
}

void packed_threaded(KN_GEMM_LADDER_ARGS, int threads) {
  packed_gemm(op_view(trans_a, M, K, A, lda), op_view(trans_b, K, N, B, ldb),
              MatrixView<float>{C, M, N, ldc, 1}, alpha, beta, threads);
}

// ------------------------------------------------------------------ step 6

void openblas(KN_GEMM_LADDER_ARGS, int threads) {
  blas::openblas_gemm<float>(op_view(trans_a, M, K, A, lda), op_view(trans_b, K, N, B, ldb),
                             MatrixView<float>{C, M, N, ldc, 1}, alpha, beta, threads);
}

const char* micro_kernel_name() {
  return pick_kernel() == micro_portable<kMR> ? "portable" : "avx512";
}

void force_portable_micro_kernel(bool on) { g_force_portable = on; }

}  // namespace gemm_ladder
}  // namespace kn
