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
//    transposes; edge panels are zero-padded, and edge tiles are written by
//    1..5-row kernels with masked stores (a buffer only for a C without unit
//    column stride). Sizes: a KC x 32 panel of B lives in L1 across the ir
//    loop, the MC x KC block of A in L2, the KC x NC panel of B in L3.
//    A transposed B is packed with 16 x 16 register transposes. The AVX-512
//    micro-kernel (6 x 32: 12 accumulators, 8 loads per 12 FMAs) is compiled
//    with target("avx512f,fma") and chosen at run time
//    (__builtin_cpu_supports); other CPUs get a portable C++ micro-kernel
//    with the same packing. Two shortcuts for small products, where the
//    copies cost as much as the flops: with at most 64 rows of C and
//    row-major B, B is read in place (each micro-panel serves few tiles); and
//    A B^T with a short C and long K runs a dot-product kernel (6 x 4 dot
//    products in 24 zmm accumulators, no packing at all).
// 5. threaded: step 4 in one OpenMP team, C split between threads by rows
//    (each thread packs its own A and its own copy of the B panel) or, for
//    wide C, by columns (each thread packs its own B micro-panels): no
//    barrier, no shared buffer. Each C tile is accumulated by one
//    thread over k in a fixed order, so the result does not depend on the
//    thread count. Products under 2 MFLOP stay on one thread.
// 6. OpenBLAS (its SkylakeX kernels, which do what step 5 does in assembly).
#include "kernels/internal/gemm_ladder.hpp"
#include "kernels/internal/error.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KN_LADDER_X86 1
#endif

#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"

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
static_assert(kNR == kPanelCols, "gemm_ladder.hpp promises kPanelCols");
constexpr int kMR = 6;   // 12 zmm accumulators: enough FMAs in flight, few loads per FMA

// Micro-kernel contract: a = MR x kc packed (k-major, MR values per k); b =
// kc rows of NR floats, row k at b + k * ldb (ldb = NR for a packed panel,
// the caller's row stride when B is read in place); writes the first nr
// (1..NR) columns of the MR x NR tile c (row stride ldc, unit column
// stride) = acc + beta * c, or = acc when beta == 0 (old contents ignored).
// Columns from nr on are neither read nor written (masked on AVX-512).
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                             int64_t ldc, float beta, int nr);

// MR rows of C; the packed A panel holds AS >= MR values per k (AS = kMR:
// the MR < kMR variants compute the first MR rows of a bottom-edge panel
// straight into C, without the zero rows and the tile buffer).
template <int MR, int AS = MR>
void micro_portable(int64_t kc, const float* __restrict a, const float* __restrict b, int64_t ldb,
                    float* __restrict c, int64_t ldc, float beta, int nr) {
  float acc[MR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k, a += AS, b += ldb)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < nr; ++j)
      c[i * ldc + j] = beta == 0.f ? acc[i][j] : acc[i][j] + beta * c[i * ldc + j];
}

#ifdef KN_LADDER_X86
template <int MR, int AS = MR>
__attribute__((target("avx512f,fma"))) void micro_avx512(int64_t kc, const float* __restrict a,
                                                         const float* __restrict b, int64_t ldb,
                                                         float* __restrict c, int64_t ldc,
                                                         float beta, int nr) {
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
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += AS;
    b += ldb;
  }
  if (nr < kNR) {  // right edge: masked loads and stores
    const __mmask16 m0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
    const __mmask16 m1 = nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      __m512 v0 = c0[i], v1 = c1[i];
      if (beta != 0.f) {
        v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c + i * ldc), v0);
        v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + i * ldc + 16), v1);
      }
      _mm512_mask_storeu_ps(c + i * ldc, m0, v0);
      _mm512_mask_storeu_ps(c + i * ldc + 16, m1, v1);
    }
  } else if (beta == 0.f) {
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

std::atomic<bool> g_force_portable{false};  // a test hook

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

bool use_avx512() {
  return !g_force_portable.load(std::memory_order_relaxed) && cpu_has_avx512();
}

// kernels[m]: the micro-kernel for m rows of C (m = kMR: full tiles).
struct MicroKernels {
  MicroKernel rows[kMR + 1];
};

MicroKernels pick_kernels() {
  static_assert(kMR == 6, "one kernel per row count below");
#ifdef KN_LADDER_X86
  if (use_avx512())
    return {{nullptr, micro_avx512<1, kMR>, micro_avx512<2, kMR>, micro_avx512<3, kMR>,
             micro_avx512<4, kMR>, micro_avx512<5, kMR>, micro_avx512<6, kMR>}};
#endif
  return {{nullptr, micro_portable<1, kMR>, micro_portable<2, kMR>, micro_portable<3, kMR>,
           micro_portable<4, kMR>, micro_portable<5, kMR>, micro_portable<6, kMR>}};
}

// Blocking (floats): the MC x KC block of A in L2, the KC x NC panel of B in
// L3, a KC x 32 micro-panel of B in L1 (KC = 256: 32 KiB) while ir runs.
constexpr int64_t kMC = 240, kKC = 256, kNC = 4096;
// B is read in place (no packing) when its rows are unit-stride and C has
// at most this many rows: each B micro-panel is then used by few
// micro-kernel calls, so copying it costs more than the strided reads
// (6x4704x25: 60 -> 94 GFLOP/s). Not when the row stride is a multiple of
// 1 KiB: the rows of a micro-panel then fall into the same few L1 sets
// (64x2048x2048: 71 GFLOP/s packed, 66 in place).
constexpr int64_t kDirectBMaxRows = 64;
// Below this many flops one thread is faster than forking two.
constexpr double kMinFlopsToThread = 2.0e6;

// 64-byte aligned, grow-only scratch owned by the calling thread.
float* scratch(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n + 16) v.resize(static_cast<size_t>(n + 16));
  auto p = reinterpret_cast<uintptr_t>(v.data());
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
}

// Packs rows [i0, i0+mr) x cols [p0, p0+kc) of alpha * a as one MR-row panel
// (zero rows below mr).
void pack_a_panel(const MatrixView<const float>& a, int64_t i0, int64_t mr, int64_t p0,
                  int64_t kc, float alpha, float* __restrict dst) {
  constexpr int MR = kMR;
  const float* src = a.data + i0 * a.row_stride + p0 * a.col_stride;
  const int64_t rs = a.row_stride, cs = a.col_stride;
  if (mr == MR && cs == 1) {
    for (int i = 0; i < MR; ++i) {
      const float* __restrict s = src + i * rs;
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = alpha * s[k];
    }
  } else if (mr == MR) {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < MR; ++i) dst[k * MR + i] = alpha * src[i * rs + k * cs];
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < MR; ++i) dst[k * MR + i] = i < mr ? alpha * src[i * rs + k * cs] : 0.f;
  }
}

#ifdef KN_LADDER_X86
// A full panel of a transposed B (unit row stride: column j of B is the
// contiguous run src + j * cs): 16 x 16 blocks transposed in registers.
__attribute__((target("avx512f"))) void pack_b_panel_t_avx512(const float* src, int64_t cs,
                                                               int64_t kc, float* __restrict dst) {
  const __mmask16 all = 0xFFFF;
  int64_t k0 = 0;
  for (; k0 + 16 <= kc; k0 += 16)
    for (int h = 0; h < kNR / 16; ++h) {
      __m512 r[16], t[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + (h * 16 + i) * cs + k0);
#pragma GCC unroll 8
      for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_maskz_unpacklo_ps(all, r[i], r[i + 1]);
        t[i + 1] = _mm512_maskz_unpackhi_ps(all, r[i], r[i + 1]);
      }
      // r[4g + c], lane L: rows 4g..4g+3 of column 4L + c
#pragma GCC unroll 4
      for (int g = 0; g < 16; g += 4) {
        r[g] = _mm512_maskz_shuffle_ps(all, t[g], t[g + 2], 0x44);
        r[g + 1] = _mm512_maskz_shuffle_ps(all, t[g], t[g + 2], 0xEE);
        r[g + 2] = _mm512_maskz_shuffle_ps(all, t[g + 1], t[g + 3], 0x44);
        r[g + 3] = _mm512_maskz_shuffle_ps(all, t[g + 1], t[g + 3], 0xEE);
      }
      float* d = dst + k0 * kNR + h * 16;
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512 x0 = _mm512_maskz_shuffle_f32x4(all, r[c], r[4 + c], 0x44);
        const __m512 x1 = _mm512_maskz_shuffle_f32x4(all, r[c], r[4 + c], 0xEE);
        const __m512 y0 = _mm512_maskz_shuffle_f32x4(all, r[8 + c], r[12 + c], 0x44);
        const __m512 y1 = _mm512_maskz_shuffle_f32x4(all, r[8 + c], r[12 + c], 0xEE);
        _mm512_store_ps(d + (0 + c) * kNR, _mm512_maskz_shuffle_f32x4(all, x0, y0, 0x88));
        _mm512_store_ps(d + (4 + c) * kNR, _mm512_maskz_shuffle_f32x4(all, x0, y0, 0xDD));
        _mm512_store_ps(d + (8 + c) * kNR, _mm512_maskz_shuffle_f32x4(all, x1, y1, 0x88));
        _mm512_store_ps(d + (12 + c) * kNR, _mm512_maskz_shuffle_f32x4(all, x1, y1, 0xDD));
      }
    }
  for (; k0 < kc; ++k0)
    for (int j = 0; j < kNR; ++j) dst[k0 * kNR + j] = src[j * cs + k0];
}
#endif

// Packs rows [p0, p0+kc) x cols [j0, j0+nr) of b as one NR-column panel
// (zero columns right of nr).
void pack_b_panel(const MatrixView<const float>& b, int64_t p0, int64_t kc, int64_t j0,
                  int64_t nr, float* __restrict dst) {
  const float* src = b.data + p0 * b.row_stride + j0 * b.col_stride;
  const int64_t rs = b.row_stride, cs = b.col_stride;
  if (nr == kNR && cs == 1) {
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * kNR, src + k * rs, kNR * sizeof(float));
  } else if (nr == kNR && rs == 1) {  // b transposed: read along k, 16 k at a time
#ifdef KN_LADDER_X86
    if (use_avx512()) return pack_b_panel_t_avx512(src, cs, kc, dst);
#endif
    int64_t k0 = 0;
    for (; k0 + 16 <= kc; k0 += 16)
      for (int j = 0; j < kNR; ++j) {
        const float* __restrict s = src + j * cs + k0;
        for (int k = 0; k < 16; ++k) dst[(k0 + k) * kNR + j] = s[k];
      }
    for (; k0 < kc; ++k0)
      for (int j = 0; j < kNR; ++j) dst[k0 * kNR + j] = src[j * cs + k0];
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int j = 0; j < kNR; ++j) dst[k * kNR + j] = j < nr ? src[k * rs + j * cs] : 0.f;
  }
}

// Where the micro-panels of B for one (jc, pc) block are: panel jp starts at
// base + jp * step with rows ldb apart; a partial last panel read in place
// would run past the rows, so it is packed into `edge` (rows NR apart).
struct BPanels {
  const float* base;
  int64_t step, ldb;
  const float* edge;  // nullptr: every panel is at base
  int64_t edge_jp;
};

// Computes the MR x NR tiles (ip, jp), ip in [0, mp), jp in [jp0, jp1), of
// the packed A block pa times the B panels into C at (ic, jc).
void macro_kernel(const MicroKernels& kernels, int64_t kc, const float* pa, int64_t mp,
                  const BPanels& bp, int64_t jp0, int64_t jp1, const MatrixView<float>& c,
                  int64_t ic, int64_t jc, float beta) {
  constexpr int MR = kMR;
  alignas(64) float tile[MR * kNR];
  const bool c_unit = c.col_stride == 1;
  for (int64_t jp = jp0; jp < jp1; ++jp) {
    const bool at_edge = bp.edge && jp == bp.edge_jp;
    const float* bpanel = at_edge ? bp.edge : bp.base + jp * bp.step;
    const int64_t ldb = at_edge ? kNR : bp.ldb;
    for (int64_t ip = 0; ip < mp; ++ip) {
      const int64_t i0 = ic + ip * MR, j0 = jc + jp * kNR;
      const int64_t mr = std::min<int64_t>(MR, c.rows - i0), nr = std::min<int64_t>(kNR, c.cols - j0);
      const float* ap = pa + ip * MR * kc;
      float* ct = c.data + i0 * c.row_stride + j0 * c.col_stride;
      if (c_unit) {  // straight into C: mr rows, nr columns
        kernels.rows[mr](kc, ap, bpanel, ldb, ct, c.row_stride, beta, int(nr));
      } else {  // strided C: through a buffer
        kernels.rows[MR](kc, ap, bpanel, ldb, tile, kNR, 0.f, kNR);
        for (int64_t i = 0; i < mr; ++i)
          for (int64_t j = 0; j < nr; ++j) {
            float& out = ct[i * c.row_stride + j * c.col_stride];
            out = tile[i * kNR + j] + (beta == 0.f ? 0.f : beta * out);
          }
      }
    }
  }
}

thread_local std::vector<float> t_pack_a, t_pack_b;

// Threads split C by rows (tall C: each thread packs its own A blocks AND
// its own copy of the KC x NC panel of B) or by columns (wide C: each thread
// packs its own B micro-panels and the A rows it needs). No barrier at all:
// sharing one packed B panel saves half of B's packing (~2-3% of a 2048^3
// product) but costs two barriers per KC step, and on a loaded machine a
// barrier waits for a descheduled peer (2048^3 on 2 threads with 7 other
// busy processes: the calling thread burnt 1.2-1.7x more CPU time with a
// shared panel). Every split keeps the serial per-tile summation order.
// `pre`: B already packed (PackedB, all of it): nothing of B is packed here.
void packed_driver(MatrixView<const float> a, MatrixView<const float> b, MatrixView<float> c,
                   float alpha, float beta, int threads, const MicroKernels& kernels,
                   const PackedB* pre = nullptr, int64_t pre_col0 = 0) {
  constexpr int MR = kMR;
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  const int64_t MC = std::min<int64_t>((kMC + MR - 1) / MR * MR, (M + MR - 1) / MR * MR);
  const int64_t KC = std::min<int64_t>(kKC, K);
  const int64_t NC = std::min<int64_t>(kNC, (N + kNR - 1) / kNR * kNR);
  const int64_t m_panels = (M + MR - 1) / MR;
  const bool direct_b = !pre && (b.col_stride == 1 || N == 1) && M <= kDirectBMaxRows &&
                        b.row_stride % 256 != 0;
  const bool split_rows = threads > 1 && M >= N && m_panels >= threads;
  const int64_t per_thread = MC * KC + KC * kNR;  // A block + an edge panel of B
  float* const pa_all = scratch(t_pack_a, threads * per_thread);
  const bool private_b = split_rows && !direct_b && !pre;  // every thread packs the whole B panel
  float* const pb_all =
      direct_b || pre ? nullptr : scratch(t_pack_b, (private_b ? threads : 1) * KC * NC);

  // Thread t of nt (no OpenMP region at all for one thread).
  auto body = [&](const int t, const int nt) {
    float* const pa = pa_all + t * per_thread;
    float* const pb = private_b ? pb_all + t * KC * NC : pb_all;
    float* const edge = pa + MC * KC;
    // This thread's rows [r0, r1) of C.
    const int64_t r0 = split_rows ? m_panels * t / nt * MR : 0;
    const int64_t r1 = split_rows ? std::min(M, m_panels * (t + 1) / nt * MR) : M;
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc), np = (nc + kNR - 1) / kNR;
      // This thread's micro-panels [jp0, jp1) of the NC panel.
      const int64_t jp0 = split_rows ? 0 : np * t / nt, jp1 = split_rows ? np : np * (t + 1) / nt;
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const float beta_k = pc == 0 ? beta : 1.f;
        BPanels panels{pb, kNR * kc, kNR, nullptr, -1};
        if (pre) {  // PackedB's block pc holds every panel of B (zero-padded columns)
          panels.base = pre->data() + pre->panels() * kNR * pc + ((jc + pre_col0) / kNR) * kNR * kc;
        } else if (direct_b) {
          panels = {b.data + pc * b.row_stride + jc, kNR, b.row_stride, nullptr, -1};
          if (nc % kNR != 0 && jp1 == np) {
            pack_b_panel(b, pc, kc, jc + (np - 1) * kNR, nc - (np - 1) * kNR, edge);
            panels.edge = edge, panels.edge_jp = np - 1;
          }
        } else {
          for (int64_t jp = jp0; jp < jp1; ++jp)
            pack_b_panel(b, pc, kc, jc + jp * kNR, std::min<int64_t>(kNR, nc - jp * kNR),
                         pb + jp * kNR * kc);
        }
        if (jp0 < jp1)
          for (int64_t ic = r0; ic < r1; ic += MC) {
            const int64_t mc = std::min(MC, r1 - ic), mp = (mc + MR - 1) / MR;
            for (int64_t ip = 0; ip < mp; ++ip)
              pack_a_panel(a, ic + ip * MR, std::min<int64_t>(MR, mc - ip * MR), pc, kc, alpha,
                           pa + ip * MR * kc);
            macro_kernel(kernels, kc, pa, mp, panels, jp0, jp1, c, ic, jc, beta_k);
          }
      }
    }
  };
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  body(0, 1);
}

// ---- dot-product kernel: A rows and B columns both unit-stride along k
// (A row-major, B transposed: y = x w^T, dw = dy^T x, conv's dy cols^T).
// C[i, j] = dot(A row i, B^T row j), 6 x 4 of them at once in 24 zmm
// accumulators (10 loads per 24 FMAs), 16 k per step, a masked tail, one
// horizontal sum per element at the end. No packing at all.
constexpr int kDotM = 6, kDotN = 4;

// sums[i * 4 + j] = dot(ar[i], br[j]) over k in [0, K).
using DotKernel = void (*)(int64_t K, const float* const* ar, const float* const* br, float* sums);

void dot_portable(int64_t K, const float* const* ar, const float* const* br, float* sums) {
  for (int i = 0; i < kDotM; ++i)
    for (int j = 0; j < kDotN; ++j) {
      float s = 0.f;
      for (int64_t k = 0; k < K; ++k) s += ar[i][k] * br[j][k];
      sums[i * kDotN + j] = s;
    }
}

#ifdef KN_LADDER_X86
// The four 16-lane sums of v0..v3 in lanes 0-3 {sum v0, sum v1, sum v2, sum v3}: 13
// shuffles/adds instead of 4 full reductions. (The zero-masked intrinsics:
// GCC 12's unmasked ones trip -Wuninitialized on _mm512_undefined_ps.)
__attribute__((target("avx512f"), always_inline)) inline __m512 hsum4_avx512(__m512 v0, __m512 v1,
                                                                             __m512 v2, __m512 v3) {
  const __mmask16 all = 0xFFFF;
  // per 128-bit lane: {v0[0]+v0[2], v1[0]+v1[2], v0[1]+v0[3], v1[1]+v1[3]}, same for v2, v3
  const __m512 s0 = _mm512_add_ps(_mm512_maskz_unpacklo_ps(all, v0, v1), _mm512_maskz_unpackhi_ps(all, v0, v1));
  const __m512 s1 = _mm512_add_ps(_mm512_maskz_unpacklo_ps(all, v2, v3), _mm512_maskz_unpackhi_ps(all, v2, v3));
  // per 128-bit lane: {v0, v1, v2, v3} partial sums
  __m512 t = _mm512_add_ps(_mm512_maskz_shuffle_ps(all, s0, s1, 0x44), _mm512_maskz_shuffle_ps(all, s0, s1, 0xEE));
  t = _mm512_add_ps(t, _mm512_maskz_shuffle_f32x4(all, t, t, 0x4E));  // + the other 256 bits
  t = _mm512_add_ps(t, _mm512_maskz_shuffle_f32x4(all, t, t, 0xB1));  // + the other 128 bits
  return t;  // the first 4 lanes
}

__attribute__((target("avx512f,fma"))) void dot_avx512(int64_t K, const float* const* ar,
                                                       const float* const* br, float* sums) {
  __m512 acc[kDotM][kDotN];
#pragma GCC unroll 32
  for (int i = 0; i < kDotM; ++i)
#pragma GCC unroll 32
    for (int j = 0; j < kDotN; ++j) acc[i][j] = _mm512_setzero_ps();
  const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3], *a4 = ar[4], *a5 = ar[5];
  const float *b0 = br[0], *b1 = br[1], *b2 = br[2], *b3 = br[3];
  // 16 k per step; the last step masks the tail (masked lanes load 0).
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (K - k)) - 1);
    const __m512 bv[kDotN] = {_mm512_maskz_loadu_ps(m, b0 + k), _mm512_maskz_loadu_ps(m, b1 + k),
                              _mm512_maskz_loadu_ps(m, b2 + k), _mm512_maskz_loadu_ps(m, b3 + k)};
    const float* arow[kDotM] = {a0, a1, a2, a3, a4, a5};
#pragma GCC unroll 32
    for (int i = 0; i < kDotM; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(m, arow[i] + k);
#pragma GCC unroll 32
      for (int j = 0; j < kDotN; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  static_assert(kDotN == 4, "hsum4 reduces 4 accumulators");
#pragma GCC unroll 32
  for (int i = 0; i < kDotM; ++i)
    _mm512_mask_storeu_ps(sums + i * kDotN, 0x000F,
                          hsum4_avx512(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
}
#endif

void dot_driver(MatrixView<const float> a, MatrixView<const float> b, MatrixView<float> c,
                float alpha, float beta, int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  DotKernel kernel = dot_portable;
#ifdef KN_LADDER_X86
  if (use_avx512()) kernel = dot_avx512;
#endif
  const int64_t mb = (M + kDotM - 1) / kDotM, nb = (N + kDotN - 1) / kDotN;
  // Blocks in (i, j) order: a thread's 6 rows of A stay in cache over j.
  parallel_for(mb * nb, 1, threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = t / nb * kDotM, j0 = t % nb * kDotN;
      const int64_t mr = std::min<int64_t>(kDotM, M - i0), nr = std::min<int64_t>(kDotN, N - j0);
      const float* ar[kDotM];
      const float* br[kDotN];
      for (int i = 0; i < kDotM; ++i) ar[i] = &a.at(i0 + std::min<int64_t>(i, mr - 1), 0);
      for (int j = 0; j < kDotN; ++j) br[j] = &b.at(0, j0 + std::min<int64_t>(j, nr - 1));
      float sums[kDotM * kDotN];
      kernel(K, ar, br, sums);
      for (int64_t i = 0; i < mr; ++i)
        for (int64_t j = 0; j < nr; ++j) {
          float& out = c.at(i0 + i, j0 + j);
          out = alpha * sums[i * kDotN + j] + (beta == 0.f ? 0.f : beta * out);
        }
    }
  });
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
  if (flops < kMinFlopsToThread || tiles < 2) return 1;
  return static_cast<int>(std::min<int64_t>(threads, tiles));
}

}  // namespace

namespace {
// The dot-product kernel for A x B^T when C is short and K long: no packing,
// so it wins where packing B would cost as much as the product (6x800x800:
// 86 GFLOP/s vs 56 packed; 16x150x800: 78 vs 61), and loses to the packed
// kernel elsewhere (32x128x784: 79 vs 86). Measured with one thread.
bool use_dot_kernel(const MatrixView<const float>& a, const MatrixView<const float>& b, int64_t M,
                    int64_t K) {
  const bool layout = (a.col_stride == 1 || a.cols == 1) && (b.row_stride == 1 || b.rows == 1);
  return layout && ((M <= 8 && K >= 256) || (M <= 16 && K >= 512));
}
}  // namespace

// c = beta c, NaN included where beta == 0 (BLAS: the product alone when alpha or K is 0).
static void scale_c(const MatrixView<float>& c, float beta) {
  for (int64_t i = 0; i < c.rows; ++i)
    for (int64_t j = 0; j < c.cols; ++j) {
      float& out = c.at(i, j);
      out = beta == 0.f ? 0.f : beta * out;
    }
}

void packed_gemm(MatrixView<const float> a, MatrixView<const float> b, MatrixView<float> c,
                 float alpha, float beta, int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.f) return scale_c(c, beta);
  if (N == 1) c.col_stride = 1;  // never used; lets a column vector take the fast path
  // C with unit row stride (a transposed output): compute C^T = B^T A^T.
  if (c.col_stride != 1 && c.row_stride == 1) {
    std::swap(a, b);
    a = a.t(), b = b.t(), c = c.t();
  }
  const int nt = useful_threads(threads, M, N, K);
  if (use_dot_kernel(a, b, c.rows, K)) {
    dot_driver(a, b, c, alpha, beta, nt);
    return;
  }
  packed_driver(a, b, c, alpha, beta, nt, pick_kernels());
}

PackedB::PackedB(MatrixView<const float> b, std::vector<float> storage)
    : K_(b.rows), N_(b.cols), panels_((b.cols + kNR - 1) / kNR), data_(std::move(storage)) {
  // Blocks of KC rows (the driver's K steps), each holding every NR-column panel.
  // 64-byte aligned, as the packing kernels store whole zmm vectors (every panel
  // is kNR * kc floats, a multiple of 64 bytes).
  data_.resize(static_cast<size_t>(panels_ * kNR * std::max<int64_t>(K_, 1)) + 16);
  const auto p = reinterpret_cast<uintptr_t>(data_.data());
  base_ = reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
  for (int64_t pc = 0; pc < K_; pc += kKC) {
    const int64_t kc = std::min(kKC, K_ - pc);
    for (int64_t jp = 0; jp < panels_; ++jp)
      pack_b_panel(b, pc, kc, jp * kNR, std::min<int64_t>(kNR, N_ - jp * kNR),
                   base_ + panels_ * kNR * pc + jp * kNR * kc);
  }
}

void packed_gemm(MatrixView<const float> a, const PackedB& b, MatrixView<float> c, float alpha,
                 float beta, int threads) {
  packed_gemm(a, b, 0, c, alpha, beta, threads);
}

void packed_gemm(MatrixView<const float> a, const PackedB& b, int64_t b_col0, MatrixView<float> c,
                 float alpha, float beta, int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (b_col0 % kNR != 0 || b_col0 < 0 || b_col0 + N > b.cols() || K != b.rows())
    fail(KN_ERR_INTERNAL, "gemm_ladder::packed_gemm: columns [", b_col0, ", ", b_col0 + N,
         ") of a packed ", b.rows(), " x ", b.cols(), " B for K = ", K,
         " (the first must be a multiple of ", kNR, ")");
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.f) return scale_c(c, beta);
  packed_driver(a, MatrixView<const float>{nullptr, K, N, 0, 0}, c, alpha, beta,
                useful_threads(threads, M, N, K), pick_kernels(), &b, b_col0);
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

void vendor_blas(KN_GEMM_LADDER_ARGS, int threads) {
  blas::library_gemm<float>(op_view(trans_a, M, K, A, lda), op_view(trans_b, K, N, B, ldb),
                            MatrixView<float>{C, M, N, ldc, 1}, alpha, beta, threads);
}

const char* micro_kernel_name() { return use_avx512() ? "avx512" : "portable"; }

bool uses_avx512() { return use_avx512(); }

std::string describe() {
  return std::string(micro_kernel_name()) + " " + std::to_string(kMR) + "x" + std::to_string(kNR) +
         " micro-kernel" +
         (use_avx512() ? ", small float32 GEMMs routed to it" : ", float32 GEMMs all on OpenBLAS");
}

void force_portable_micro_kernel(bool on) { g_force_portable = on; }

}  // namespace gemm_ladder
}  // namespace kn
