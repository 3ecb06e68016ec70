// Scaled dot-product attention on the CPU: a fused, tiled (FlashAttention-2
// style) kernel. Maths and contract: capi/include/kernels/
// scaled_dot_product_attention.h.
//
// Shapes: q:(*B, L, E) k:(*Bk, S, E) v:(*Bv, S, Ev) mask:(*Bm, L|1, S|1),
// out:(*B, L, Ev) lse:(*B, L). A batch position b (row-major over *B) maps
// to each operand's offset through AttentionBatch (broadcast dims stride 0);
// the last two dims keep their own strides, so q, k, v, dout may be any
// views (e.g. of one packed (N, L, 3, H, E) projection) and are never copied
// as a whole: the tile products read them in place through kn::blas::gemm
// on strided MatrixViews (OpenBLAS or the GEMM ladder; gemm packs a tile
// only when a view has no BLAS layout).
//
// Forward, per query block of kBlockQ = 64 rows:
//   for each key tile [j0, j1) of kTileK = 128 keys (causal: only keys
//   j < the block's end; the mask and causality are added per tile, the
//   causal -inf only on tiles that cross the diagonal):
//     S   = scale Q_blk K_tile^T (+ mask)             bq x bk
//     m'  = max(m, rowmax S); P = exp(S - m'); l = l exp(m - m') + rowsum P
//     acc = acc exp(m - m') + (P z / (1 - p)) V_tile   bq x Ev
//   out = acc / l, lse = m + log l (l = 0, a fully masked row: out 0, lse -inf).
// Scratch per thread: bq x bk scores, bq x Ev accumulator (O(block x tile)),
// plus K^T packed (S x E, below). The L x S matrix is never formed.
// Work items: a whole batch position (all its query blocks) when there are
// >= kWholeBatchItems (8) positions, else one query block; taken
// dynamically from an atomic counter (causal blocks differ in cost).
// float on an AVX-512 CPU: S = Q K^T runs on the GEMM ladder's micro-kernel
// with K^T packed once per work item (gemm_ladder::PackedB, each tile a
// column range of it) instead of packing each tile for each query block;
// acc += P V on OpenBLAS's small-matrix sgemm (packing V tiles as well was
// measured: no gain). float64 and other CPUs: kn::blas::gemm per tile.
//
// Backward, recomputing the tiles from q, k and lse (D_i = dout_i . out_i):
//   P = exp(S - lse), dP = dO_blk V_tile^T, (dropout: Pz = P z/(1-p),
//   dP *= z/(1-p)), dS = P (dP - D);
//   dV_tile += Pz^T dO_blk, dK_tile += scale dS^T Q_blk, dQ_blk += scale dS K_tile
// (five products per tile, as FlashAttention-2's backward). Deterministic:
// no atomics, and every sum runs in an order fixed by the shape alone, so
// the bits do not depend on the thread count. Two schemes, chosen by shape:
//   one pass (>= kMinGroupsOnePass = 4 groups): a work item is a "group", the
//     q batch positions that share one k/v batch position (GQA: the G query
//     heads of one kv head; batch dims where both k and v have size 1 are
//     summed inside a group). Its thread accumulates the group's dK, dV
//     (S x E, S x Ev) in its own buffer and each dQ block (bq x E) over the key
//     tiles (members in row-major order, query blocks, key tiles ascending).
//   two passes (1-3 groups, e.g. one head with a long sequence, where the one
//     pass would leave threads idle): dK, dV over (group, key tile) items,
//     each summing its members' query blocks in order; then dQ over (batch
//     position, query block) items, each summing the key tiles in order. The
//     tiles are recomputed in both passes (seven products per tile).
// In the one-pass scheme (float, AVX-512 ladder) K^T and V^T are packed once
// per batch position for the S and dP products, as in the forward.
// Where k and v broadcast differently (k size 1 on a dim where v is not),
// several groups add into one dK position: each group writes its own
// partial, summed afterwards in group order.
//
// Softmax rows (float): AVX-512 intrinsics (max, exp + sum, exp) when the CPU
// has them, GCC left the 16-lane max reduction scalar; the exp is kn::fast_expf's
// Cephes polynomial (2 ulp, -inf -> 0) in 16 lanes. Other CPUs: plain loops
// (KN_SIMD_CLONES where the compiler vectorises them). float64: std::exp
// and plain loops, all in double.
// Dropout: the keep bit of (b, i, j) is Philox word (flat % 4) of group
// flat / 4, flat = (b L + i) S + j, as kn_dropout_forward; one Philox call
// serves four consecutive keys. Computed only when p > 0.
//
// Measured (Intel(R) Xeon(R) Processor, AVX-512, 2 threads, a machine shared
// with other jobs; torch 2.13 CPU flash attention in the same process,
// median of 11 interleaved runs): float32 N=8, H=8, L=S=512, E=64, time
// relative to torch: forward 0.93-1.04 (non-causal), 0.69-0.83 (causal);
// forward + backward 0.67-0.74 (non-causal), 0.47-0.56 (causal).
// Tile sizes: 64 x 128 (QK^T 64x128x64 = 2^19 multiply-adds per product);
// 48, 96 query rows and 256 keys measured the same within the noise, 32 x 128
// slower.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/internal/attention_layout.hpp"
#include "kernels/internal/blas.hpp"
#include "kernels/internal/cpu_info.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/fast_exp.hpp"
#include "kernels/internal/gemm_ladder.hpp"
#include "kernels/internal/philox.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/scaled_dot_product_attention.hpp"

namespace kn::cpu {
namespace {

using Params = kn_scaled_dot_product_attention_params;

constexpr int64_t kBlockQ = 64;   // query rows per block
constexpr int64_t kTileK = 128;   // keys per tile (a multiple of gemm_ladder::kPanelCols)
static_assert(kTileK % gemm_ladder::kPanelCols == 0, "key tiles start on packed panels");
// Work items cover a whole batch position (all its query blocks: K^T packed
// once) when there are at least this many batch positions.
constexpr int64_t kWholeBatchItems = 8;
// The backward's one-pass scheme (a thread owns a k/v group) needs at least
// this many groups; fewer take the two-pass scheme (more work items).
constexpr int64_t kMinGroupsOnePass = 4;

// ---------------------------------------------------------------- row helpers

// float rows: AVX-512 intrinsics where the CPU has them (GCC's vectoriser
// leaves the 16-lane max reduction scalar), else plain loops that the
// compiler vectorises as it can. Both use the same Cephes exp as
// kn::fast_expf (2 ulp; -inf -> 0).
#if defined(__GNUC__) && defined(__x86_64__)
#define KN_SDPA_AVX512 1
#define KN_AVX512_FN __attribute__((target("avx512f")))
#define KN_AVX512_INLINE __attribute__((target("avx512f"), always_inline)) inline
// max / min by compare and blend: GCC 12's _mm512_max_ps passes
// _mm512_undefined_ps() (self-initialised) and trips -Werror=uninitialized
// (so would the unmasked scalef: the zero-masked one below).
// NaN compares false: x > m ? x : m keeps m, as the scalar loops do.
KN_AVX512_INLINE __m512 max512(__m512 m, __m512 x) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, m, _CMP_GT_OQ), m, x);
}

bool cpu_has_avx512() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return ok;
}

// exp(x) for x below this is flushed to 0 by exp512 (see there): exp(-86.6)
// = 2.3e-38 > 2^-125, so every result kept is a normal float.
constexpr float kFlushBelow = -86.6f;

KN_AVX512_INLINE __m512 exp512(__m512 x) {
  // Clamp as fast_expf (a NaN x stays NaN).
  const __m512 hi = _mm512_set1_ps(88.7228393f), lo = _mm512_set1_ps(-110.0f);
  x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), x, hi);
  x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), x, lo);
  const __m512 kRound = _mm512_set1_ps(12582912.0f);
  const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), kRound);
  const __m512 n = _mm512_sub_ps(t, kRound);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // p 2^n in one instruction (vscalefps). Results that would be subnormal
  // (x below kFlushBelow, exp(x) < ~2^-125) are 0 instead: an instruction
  // whose result underflows takes a microcode assist on Intel cores (~150
  // cycles), and every masked (-inf) score and every causal tile's upper
  // triangle would take one (causal forward at L = S = 128: 1.8x the
  // non-causal time on an Intel Xeon before this). The masked-off lanes of
  // the zero-masking scalef raise nothing. Relative to the row maximum
  // (P <= 1, l >= 1) such values are far below float's resolution.
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kFlushBelow), _CMP_LT_OQ);
  return _mm512_maskz_scalef_ps(static_cast<__mmask16>(~tiny), p, n);
}

KN_AVX512_INLINE __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

KN_AVX512_INLINE float row_max_in(const float* s, int64_t n) {
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 m0 = ninf, m1 = ninf;
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    m0 = max512(m0, _mm512_loadu_ps(s + j));
    m1 = max512(m1, _mm512_loadu_ps(s + j + 16));
  }
  for (; j < n; j += 16) m0 = max512(m0, _mm512_mask_loadu_ps(ninf, tail_mask(n - j), s + j));
  alignas(64) float lane[16];
  _mm512_store_ps(lane, max512(m0, m1));
  float m = lane[0];
  for (int l = 1; l < 16; ++l) m = lane[l] > m ? lane[l] : m;
  return m;
}

KN_AVX512_INLINE float exp_sum_in(float* s, int64_t n, float m) {
  const __m512 mv = _mm512_set1_ps(m), ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m512 e0 = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + j), mv));
    const __m512 e1 = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), mv));
    _mm512_storeu_ps(s + j, e0), _mm512_storeu_ps(s + j + 16, e1);
    a0 = _mm512_add_ps(a0, e0), a1 = _mm512_add_ps(a1, e1);
  }
  for (; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(ninf, k, s + j), mv));
    _mm512_mask_storeu_ps(s + j, k, e);
    a0 = _mm512_add_ps(a0, e);  // masked-off lanes hold exp(-inf) = 0
  }
  alignas(64) float lane[16];
  _mm512_store_ps(lane, _mm512_add_ps(a0, a1));
  float sum = 0;
  for (int l = 0; l < 16; ++l) sum += lane[l];
  return sum;
}

KN_AVX512_FN float row_max_avx512(const float* s, int64_t n) { return row_max_in(s, n); }
KN_AVX512_FN float exp_sum_avx512(float* s, int64_t n, float m) { return exp_sum_in(s, n, m); }

KN_AVX512_FN void exp_sub_avx512(float* s, int64_t n, float m) {
  const __m512 mv = _mm512_set1_ps(m);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    _mm512_mask_storeu_ps(s + j, k, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), mv)));
  }
}

// The forward's online-softmax step for a whole score tile (bq rows of bk,
// dense), in one call: per row the new max, P = exp(S - m), l and the
// rescaled accumulator row (bq x Ev, dense). Per-row calls cost as much as
// the exps at these sizes.
KN_AVX512_FN void online_softmax_tile_avx512(float* s, int64_t bq, int64_t bk, float* mx, float* l,
                                             float* acc, int64_t Ev) {
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < bq; ++r) {
    float* sr = s + r * bk;
    const float rm = row_max_in(sr, bk);
    const float m_new = rm > mx[r] ? rm : mx[r];
    // A row with no visible key yet keeps m = -inf: its P is 0 (exp(-inf - 0)).
    const float m_use = m_new == ninf ? 0.0f : m_new;
    const float corr = mx[r] == ninf ? 0.0f : fast_expf(mx[r] - m_use);
    l[r] = l[r] * corr + exp_sum_in(sr, bk, m_use);
    mx[r] = m_new;
    if (corr != 1.0f) {
      float* ar = acc + r * Ev;
      const __m512 c = _mm512_set1_ps(corr);
      for (int64_t e = 0; e < Ev; e += 16) {
        const __mmask16 k = tail_mask(Ev - e);
        _mm512_mask_storeu_ps(ar + e, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, ar + e), c));
      }
    }
  }
}
#else
#define KN_SDPA_AVX512 0
#endif

float row_max_plain(const float* s, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
  return m;
}

KN_SIMD_CLONES float exp_sum_plain(float* s, int64_t n, float m) {
  float lane[16] = {};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; ++l) {
      const float e = fast_expf(s[j + l] - m);
      s[j + l] = e;
      lane[l] += e;
    }
  for (; j < n; ++j) {
    const float e = fast_expf(s[j] - m);
    s[j] = e;
    lane[0] += e;
  }
  float sum = 0;
  for (int l = 0; l < 16; ++l) sum += lane[l];
  return sum;
}

KN_SIMD_CLONES void exp_sub_plain(float* s, int64_t n, float m) {
  for (int64_t j = 0; j < n; ++j) s[j] = fast_expf(s[j] - m);
}

// ds = p (dp - d)
KN_SIMD_CLONES void dsoft_f(const float* p, const float* dp, float* ds, int64_t n, float d) {
  for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (dp[j] - d);
}

KN_SIMD_CLONES void scale_row_f(float* x, int64_t n, float a) {
  for (int64_t j = 0; j < n; ++j) x[j] *= a;
}

inline float row_max(const float* s, int64_t n) {
#if KN_SDPA_AVX512
  if (cpu_has_avx512()) return row_max_avx512(s, n);
#endif
  return row_max_plain(s, n);
}
// s = exp(s - m); returns the sum.
inline float exp_sum(float* s, int64_t n, float m) {
#if KN_SDPA_AVX512
  if (cpu_has_avx512()) return exp_sum_avx512(s, n, m);
#endif
  return exp_sum_plain(s, n, m);
}
// s = exp(s - m), no sum.
inline void exp_sub(float* s, int64_t n, float m) {
#if KN_SDPA_AVX512
  if (cpu_has_avx512()) return exp_sub_avx512(s, n, m);
#endif
  exp_sub_plain(s, n, m);
}
inline void dsoft(const float* p, const float* dp, float* ds, int64_t n, float d) {
  dsoft_f(p, dp, ds, n, d);
}
inline void scale_row(float* x, int64_t n, float a) { scale_row_f(x, n, a); }

inline double row_max(const double* s, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
  return m;
}
inline double exp_sum(double* s, int64_t n, double m) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += s[j] = std::exp(s[j] - m);
  return sum;
}
inline void exp_sub(double* s, int64_t n, double m) {
  for (int64_t j = 0; j < n; ++j) s[j] = std::exp(s[j] - m);
}
inline void dsoft(const double* p, const double* dp, double* ds, int64_t n, double d) {
  for (int64_t j = 0; j < n; ++j) ds[j] = p[j] * (dp[j] - d);
}
inline void scale_row(double* x, int64_t n, double a) {
  for (int64_t j = 0; j < n; ++j) x[j] *= a;
}

// The forward's online-softmax step for a score tile (see the AVX-512 one).
template <typename T>
void online_softmax_tile_generic(T* s, int64_t bq, int64_t bk, T* mx, T* l, T* acc, int64_t Ev) {
  constexpr T ninf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < bq; ++r) {
    T* sr = s + r * bk;
    const T m_new = std::max(mx[r], row_max(sr, bk));
    const T m_use = m_new == ninf ? T(0) : m_new;
    const T corr = mx[r] == ninf ? T(0) : exp_of<T>(mx[r] - m_use);
    l[r] = l[r] * corr + exp_sum(sr, bk, m_use);
    mx[r] = m_new;
    if (corr != T(1)) scale_row(acc + r * Ev, Ev, corr);
  }
}
inline void online_softmax_tile(double* s, int64_t bq, int64_t bk, double* mx, double* l,
                                double* acc, int64_t Ev) {
  online_softmax_tile_generic(s, bq, bk, mx, l, acc, Ev);
}
inline void online_softmax_tile(float* s, int64_t bq, int64_t bk, float* mx, float* l, float* acc,
                                int64_t Ev) {
#if KN_SDPA_AVX512
  if (cpu_has_avx512()) return online_softmax_tile_avx512(s, bq, bk, mx, l, acc, Ev);
#endif
  online_softmax_tile_generic(s, bq, bk, mx, l, acc, Ev);
}

// The dropout factors z_ij / (1 - p) of keys [0, n) of a row whose first key
// is logical element flat0: one Philox call per four keys.
template <typename T>
void dropout_row(uint64_t seed, uint64_t threshold, T keep_scale, uint64_t flat0, int64_t n,
                 T* z) {
  uint64_t f = flat0;
  int64_t j = 0;
  while (j < n) {
    const Philox4 r = philox_group(seed, f / 4);
    for (unsigned w = static_cast<unsigned>(f % 4); w < 4 && j < n; ++w, ++j, ++f)
      z[j] = r.v[w] >= threshold ? keep_scale : T(0);
  }
}

// ---------------------------------------------------------------- geometry

// The operands' batch, sizes and strides (kernels/internal/attention_layout.hpp).
using Geometry = AttentionOperands;

// What every tile needs besides the operands: the mask, causality, dropout.
template <typename T>
struct TileRules {
  const kn_tensor* m;
  bool causal, drop;
  uint64_t seed, threshold;
  T keep_scale;
  int64_t m_r, m_c, L, S;

  TileRules(const Params& p, const kn_tensor* mask, const Geometry& g)
      : m(mask),
        causal(p.is_causal != 0),
        drop(p.dropout_p > 0.0),
        seed(p.seed),
        threshold(dropout_threshold(p.dropout_p)),
        keep_scale(static_cast<T>(dropout_scale(p.dropout_p))),
        m_r(g.m_r),
        m_c(g.m_c),
        L(g.L),
        S(g.S) {}

  // z[c] = the dropout factor (0 or 1 / (1 - p)) of batch position b, query
  // row i, key j0 + c, for c < n: Philox bits of flat = (b L + i) S + j.
  void dropout_factors(int64_t b, int64_t i, int64_t j0, int64_t n, T* z) const {
    const uint64_t flat0 =
        (static_cast<uint64_t>(b) * static_cast<uint64_t>(L) + static_cast<uint64_t>(i)) *
            static_cast<uint64_t>(S) +
        static_cast<uint64_t>(j0);
    dropout_row<T>(seed, threshold, keep_scale, flat0, n, z);
  }

  // The last key tile end (exclusive) rows [i0, i1) can see.
  int64_t key_end(int64_t i1) const { return causal ? std::min(S, i1) : S; }

  // Adds the mask and causality to the score tile s (rows [i0, i0+bq), keys
  // [j0, j0+bk), leading dimension ld).
  void apply(T* s, int64_t ld, int64_t moff, int64_t i0, int64_t bq, int64_t j0,
             int64_t bk) const {
    constexpr T ninf = -std::numeric_limits<T>::infinity();
    if (m) {
      if (m->dtype == KN_BOOL || m->dtype == KN_UINT8) {
        const uint8_t* M = static_cast<const uint8_t*>(m->data) + moff;
        for (int64_t r = 0; r < bq; ++r) {
          const uint8_t* mr = M + (i0 + r) * m_r + j0 * m_c;
          T* sr = s + r * ld;
          for (int64_t c = 0; c < bk; ++c)
            if (!mr[c * m_c]) sr[c] = ninf;
        }
      } else {
        const T* M = static_cast<const T*>(m->data) + moff;
        for (int64_t r = 0; r < bq; ++r) {
          const T* mr = M + (i0 + r) * m_r + j0 * m_c;
          T* sr = s + r * ld;
          for (int64_t c = 0; c < bk; ++c) sr[c] += mr[c * m_c];
        }
      }
    }
    if (causal && j0 + bk - 1 > i0)  // the tile crosses the diagonal
      for (int64_t r = 0; r < bq; ++r) {
        const int64_t first = std::max<int64_t>(0, i0 + r + 1 - j0);  // first masked column
        T* sr = s + r * ld;
        for (int64_t c = first; c < bk; ++c) sr[c] = ninf;
      }
  }
};

template <typename T>
MatrixView<const T> cview(const T* data, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  return {data, rows, cols, rs, cs};
}

template <typename T>
void mm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta) {
  blas::gemm<T>(a, b, c, alpha, beta, 1);
}

// Runs item(i, scratch) for i in [0, n) on up to `threads` threads, items
// taken dynamically; make_scratch() builds each thread's scratch once.
template <typename MakeScratch, typename Item>
void run_items(int64_t n, int threads, MakeScratch&& make_scratch, Item&& item) {
  if (n <= 0) return;
  const int nt = static_cast<int>(std::min<int64_t>(std::max(threads, 1), n));
  std::atomic<int64_t> next{0};
  parallel_for(nt, 1, nt, [&](int64_t, int64_t) {
    auto scratch = make_scratch();
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) item(i, scratch);
  });
}

// ---------------------------------------------------------------- forward

// The score products S = scale Q_blk K_tile^T of one batch position. float
// with the GEMM ladder's AVX-512 kernels: K^T is packed once per work item
// (PackedB) and each tile is a column range of it; otherwise kn::blas::gemm
// per tile. The choice depends on the CPU and dtype only, never on the split
// into work items, so results do not depend on the thread count.
template <typename T>
struct ScoreProduct {
  bool packed = false;
  std::unique_ptr<gemm_ladder::PackedB> kt;
  std::vector<float> storage;

  static bool use_packed(int64_t E) {
    return std::is_same_v<T, float> && E > 0 && gemm_ladder::uses_avx512();
  }
  // K rows [0, kend) of this batch position.
  void prepare(MatrixView<const T> K, int64_t kend) {
    packed = false;
    if constexpr (std::is_same_v<T, float>) {
      if (kt) storage = kt->take_storage(), kt.reset();
      if (kend > 0 && use_packed(K.cols)) {
        kt = std::make_unique<gemm_ladder::PackedB>(
            MatrixView<const float>{K.data, kend, K.cols, K.row_stride, K.col_stride}.t(),
            std::move(storage));
        packed = true;
      }
    }
  }
  void run(MatrixView<const T> Qb, MatrixView<const T> K, int64_t j0, int64_t bk, T* s, T scale) {
    if constexpr (std::is_same_v<T, float>) {
      if (packed) {
        gemm_ladder::packed_gemm(Qb, *kt, j0, {s, Qb.rows, bk, bk, 1}, scale, 0.0f, 1);
        return;
      }
    }
    const auto Kt = cview(K.data + j0 * K.row_stride, bk, K.cols, K.row_stride, K.col_stride);
    mm<T>(Qb, Kt.t(), {s, Qb.rows, bk, bk, 1}, scale, T(0));
  }
};

template <typename T>
void forward(const Params& p, const kn_tensor& q, const kn_tensor& k, const kn_tensor& v,
             const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse, int threads) {
  Geometry g;
  g.set(q, k, v, m, out, lse);
  const int64_t L = g.L, S = g.S, E = g.E, Ev = g.Ev;
  if (g.batch.count == 0 || L == 0) return;
  const TileRules<T> rules(p, m, g);
  const T scale = static_cast<T>(p.scale);
  const int64_t nqb = (L + kBlockQ - 1) / kBlockQ;
  // Work items: a whole batch position (K packed once for all its query
  // blocks) where there are enough of them, else one query block.
  const int64_t per_item = g.batch.count >= kWholeBatchItems ? nqb : 1;
  const int64_t items_per_b = nqb / per_item;
  struct Scratch {
    std::vector<T> s, acc, mx, l, z;
    ScoreProduct<T> qk;
  };
  auto make = [&] {
    Scratch sc;
    sc.s.resize(static_cast<size_t>(kBlockQ * kTileK));
    sc.acc.resize(static_cast<size_t>(kBlockQ * std::max<int64_t>(Ev, 1)));
    sc.mx.resize(kBlockQ), sc.l.resize(kBlockQ), sc.z.resize(kTileK);
    return sc;
  };
  // Later (longer, under causality) query blocks first.
  run_items(g.batch.count * items_per_b, threads, make, [&](int64_t item, Scratch& sc) {
    const int64_t b = item / items_per_b;
    const int64_t qb_hi = nqb - (item % items_per_b) * per_item, qb_lo = qb_hi - per_item;
    const T* Q = static_cast<const T*>(q.data) + g.batch.offset(b, AttentionBatch::Q);
    const T* K = static_cast<const T*>(k.data) + g.batch.offset(b, AttentionBatch::K);
    const T* V = static_cast<const T*>(v.data) + g.batch.offset(b, AttentionBatch::V);
    T* O = static_cast<T*>(out.data) + g.batch.offset(b, AttentionBatch::OUT);
    T* LSE = static_cast<T*>(lse.data) + g.batch.offset(b, AttentionBatch::LSE);
    const int64_t moff = g.batch.offset(b, AttentionBatch::MASK);
    const auto Kall = cview(K, S, E, g.k_r, g.k_c);
    sc.qk.prepare(Kall, rules.key_end(std::min(L, qb_hi * kBlockQ)));
    for (int64_t qb = qb_hi - 1; qb >= qb_lo; --qb) {
      const int64_t i0 = qb * kBlockQ, bq = std::min(kBlockQ, L - i0);
      T* s = sc.s.data();
      T* acc = sc.acc.data();
      std::fill(acc, acc + bq * Ev, T(0));
      std::fill(sc.mx.begin(), sc.mx.end(), -std::numeric_limits<T>::infinity());
      std::fill(sc.l.begin(), sc.l.end(), T(0));
      const auto Qb = cview(Q + i0 * g.q_r, bq, E, g.q_r, g.q_c);
      const int64_t kend = rules.key_end(i0 + bq);
      for (int64_t j0 = 0; j0 < kend; j0 += kTileK) {
        const int64_t bk = std::min(kTileK, kend - j0);
        sc.qk.run(Qb, Kall, j0, bk, s, scale);  // S = scale Q_blk K_tile^T
        rules.apply(s, bk, moff, i0, bq, j0, bk);
        online_softmax_tile(s, bq, bk, sc.mx.data(), sc.l.data(), acc, Ev);
        for (int64_t r = 0; rules.drop && r < bq; ++r) {  // P z / (1 - p)
          T* sr = s + r * bk;
          T* z = sc.z.data();
          rules.dropout_factors(b, i0 + r, j0, bk, z);
          for (int64_t c = 0; c < bk; ++c) sr[c] *= z[c];
        }
        // acc += P V_tile
        // acc += P V_tile
        mm<T>(cview<T>(s, bq, bk, bk, 1), cview(V + j0 * g.v_r, bk, Ev, g.v_r, g.v_c),
              {acc, bq, Ev, Ev, 1}, T(1), T(1));
      }
      for (int64_t r = 0; r < bq; ++r) {
        const int64_t i = i0 + r;
        const T l = sc.l[r];
        T* orow = O + i * g.o_r;
        if (!(l == T(0))) {  // NaN scores propagate (a NaN l), as torch
          const T inv = T(1) / l;
          for (int64_t e = 0; e < Ev; ++e) orow[e * g.o_c] = acc[r * Ev + e] * inv;
          LSE[i * g.lse_r] = sc.mx[r] + static_cast<T>(std::log(l));
        } else {  // fully masked (or S = 0)
          for (int64_t e = 0; e < Ev; ++e) orow[e * g.o_c] = T(0);
          LSE[i * g.lse_r] = -std::numeric_limits<T>::infinity();
        }
      }
    }
  });
}

// ---------------------------------------------------------------- backward

template <typename T>
void backward(const Params& p, const kn_tensor& dout, const kn_tensor& q, const kn_tensor& k,
              const kn_tensor& v, const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse,
              const kn_tensor* dq, const kn_tensor* dk, const kn_tensor* dv, int threads) {
  Geometry g;
  g.set(q, k, v, m, out, lse, &dout, dq, dk, dv);
  const int nb = g.nb;
  const int64_t L = g.L, S = g.S, E = g.E, Ev = g.Ev;
  const int64_t nbatch = g.batch.count;
  if (!dq && !dk && !dv) return;
  const TileRules<T> rules(p, m, g);
  const T scale = static_cast<T>(p.scale);
  const int64_t do_r = g.do_r, do_c = g.do_c;

  // dk / dv of a broadcast k / v (size-1 batch dims, incl. any batch of 0 q
  // positions) where L = 0 or no q position maps onto it: zero.
  auto zero_all = [&](const kn_tensor* d) {
    if (!d) return;
    int64_t count = 1;
    for (int dd = 0; dd < nb; ++dd) count *= d->shape[dd];
    const int64_t rows = d->shape[nb], cols = d->shape[nb + 1];
    for (int64_t ob = 0; ob < count; ++ob) {
      int64_t off = 0, rem = ob;
      for (int dd = nb - 1; dd >= 0; --dd) {
        off += (rem % d->shape[dd]) * d->strides[dd];
        rem /= d->shape[dd];
      }
      T* base = static_cast<T*>(d->data) + off;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) base[r * d->strides[nb] + c * d->strides[nb + 1]] = T(0);
    }
  };
  if (nbatch == 0) {
    zero_all(dk), zero_all(dv);
    return;
  }

  // Groups: q batch positions sharing one (k, v) position, i.e. differing
  // only on dims where k and v both have size 1.
  std::vector<bool> inner(static_cast<size_t>(nb));
  bool k_shared = false, v_shared = false;  // several groups onto one dk / dv position
  for (int d = 0; d < nb; ++d) {
    const bool k1 = k.shape[d] == 1 && q.shape[d] > 1, v1 = v.shape[d] == 1 && q.shape[d] > 1;
    inner[d] = k1 && v1;
    k_shared = k_shared || (k1 && !v1);
    v_shared = v_shared || (v1 && !k1);
  }
  std::vector<int64_t> group_of(static_cast<size_t>(nbatch));
  int64_t ngroups = 1;
  for (int d = 0; d < nb; ++d)
    if (!inner[d]) ngroups *= q.shape[d];
  for (int64_t b = 0; b < nbatch; ++b) {
    int64_t rem = b, gid = 0, mul = 1;
    for (int d = nb - 1; d >= 0; --d) {
      const int64_t i = rem % q.shape[d];
      rem /= q.shape[d];
      if (!inner[d]) gid += i * mul, mul *= q.shape[d];
    }
    group_of[static_cast<size_t>(b)] = gid;
  }
  std::vector<int64_t> start(static_cast<size_t>(ngroups + 1), 0), members(static_cast<size_t>(nbatch));
  for (int64_t b = 0; b < nbatch; ++b) ++start[static_cast<size_t>(group_of[b] + 1)];
  for (int64_t gi = 0; gi < ngroups; ++gi) start[gi + 1] += start[gi];
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t b = 0; b < nbatch; ++b) members[static_cast<size_t>(fill[group_of[b]]++)] = b;
  }
  // Partials where several groups add into one dk / dv position.
  std::vector<T> part_k(dk && k_shared ? static_cast<size_t>(ngroups * S * E) : 0);
  std::vector<T> part_v(dv && v_shared ? static_cast<size_t>(ngroups * S * Ev) : 0);

  struct Scratch {
    std::vector<T> s, dp, pz, ds, z, dkacc, dvacc, dqacc, lse, D;
    ScoreProduct<T> qk, dov;  // K^T, V^T packed per batch position (one-pass scheme)
    bool packed = false;
  };
  auto make = [&] {
    Scratch sc;
    const size_t tile = static_cast<size_t>(kBlockQ * kTileK);
    sc.s.resize(tile), sc.dp.resize(tile), sc.ds.resize(tile);
    if (rules.drop) sc.pz.resize(tile), sc.z.resize(kTileK);
    sc.dkacc.resize(static_cast<size_t>(S * E)), sc.dvacc.resize(static_cast<size_t>(S * Ev));
    sc.dqacc.resize(static_cast<size_t>(kBlockQ * E));
    sc.lse.resize(kBlockQ), sc.D.resize(kBlockQ);
    return sc;
  };
  const int64_t nqb = (L + kBlockQ - 1) / kBlockQ, nkt = (S + kTileK - 1) / kTileK;

  // The operands of batch position b.
  struct Ptrs {
    const T *Q, *K, *V, *O, *DO, *LSE;
    T* DQ;
    int64_t moff;
  };
  auto ptrs = [&](int64_t b) {
    Ptrs r;
    r.Q = static_cast<const T*>(q.data) + g.batch.offset(b, AttentionBatch::Q);
    r.K = static_cast<const T*>(k.data) + g.batch.offset(b, AttentionBatch::K);
    r.V = static_cast<const T*>(v.data) + g.batch.offset(b, AttentionBatch::V);
    r.O = static_cast<const T*>(out.data) + g.batch.offset(b, AttentionBatch::OUT);
    r.DO = static_cast<const T*>(dout.data) + g.batch.offset(b, AttentionBatch::DOUT);
    r.LSE = static_cast<const T*>(lse.data) + g.batch.offset(b, AttentionBatch::LSE);
    r.DQ = dq ? static_cast<T*>(dq->data) + g.batch.offset(b, AttentionBatch::DQ) : nullptr;
    r.moff = g.batch.offset(b, AttentionBatch::MASK);
    return r;
  };
  // lse and D = dout . out of rows [i0, i0 + bq) into the scratch; whether
  // any of them sees a key.
  auto load_rows = [&](const Ptrs& P, int64_t i0, int64_t bq, Scratch& sc) {
    bool any = false;
    for (int64_t r = 0; r < bq; ++r) {
      const int64_t i = i0 + r;
      sc.lse[r] = P.LSE[i * g.lse_r];
      any = any || sc.lse[r] != -std::numeric_limits<T>::infinity();
      double D = 0;
      for (int64_t e = 0; e < Ev; ++e)
        D += static_cast<double>(P.DO[i * do_r + e * do_c]) * P.O[i * g.o_r + e * g.o_c];
      sc.D[r] = static_cast<T>(D);
    }
    return any;
  };
  // One tile: P z / (1 - p) into the returned buffer (bq x bk) and dS into
  // sc.ds, for rows [i0, i0 + bq) and keys [j0, j0 + bk) of batch position b.
  auto tile = [&](int64_t b, const Ptrs& P, int64_t i0, int64_t bq, int64_t j0, int64_t bk,
                  Scratch& sc) -> const T* {
    const auto Qb = cview(P.Q + i0 * g.q_r, bq, E, g.q_r, g.q_c);
    const auto DOb = cview(P.DO + i0 * do_r, bq, Ev, do_r, do_c);
    T* s = sc.s.data();
    T* dp = sc.dp.data();
    T* ds = sc.ds.data();
    if (sc.packed) {  // S = scale Q_blk K_tile^T, dP = dO_blk V_tile^T
      sc.qk.run(Qb, cview(P.K, S, E, g.k_r, g.k_c), j0, bk, s, scale);
      sc.dov.run(DOb, cview(P.V, S, Ev, g.v_r, g.v_c), j0, bk, dp, T(1));
    } else {
      mm<T>(Qb, cview(P.K + j0 * g.k_r, bk, E, g.k_r, g.k_c).t(), {s, bq, bk, bk, 1}, scale, T(0));
      mm<T>(DOb, cview(P.V + j0 * g.v_r, bk, Ev, g.v_r, g.v_c).t(), {dp, bq, bk, bk, 1}, T(1), T(0));
    }
    rules.apply(s, bk, P.moff, i0, bq, j0, bk);
    T* pz = rules.drop ? sc.pz.data() : s;  // P z / (1 - p): P itself without dropout
    for (int64_t r = 0; r < bq; ++r) {
      T* sr = s + r * bk;
      T* dpr = dp + r * bk;
      if (sc.lse[r] == -std::numeric_limits<T>::infinity())
        std::fill(sr, sr + bk, T(0));
      else
        exp_sub(sr, bk, sc.lse[r]);
      if (rules.drop) {
        T* z = sc.z.data();
        rules.dropout_factors(b, i0 + r, j0, bk, z);
        T* pzr = pz + r * bk;
        for (int64_t c = 0; c < bk; ++c) pzr[c] = sr[c] * z[c], dpr[c] *= z[c];
      }
      dsoft(sr, dpr, ds + r * bk, bk, sc.D[r]);
    }
    return pz;
  };
  auto write_dq = [&](const Ptrs& P, int64_t i0, int64_t bq, const T* dQ) {
    if (!P.DQ) return;
    const int64_t rr = dq->strides[nb], cc = dq->strides[nb + 1];
    for (int64_t r = 0; r < bq; ++r)
      for (int64_t e = 0; e < E; ++e) P.DQ[(i0 + r) * rr + e * cc] = dQ[r * E + e];
  };
  // Rows [j0, j0 + rows) of the group's dk / dv (src: rows x cols, dense):
  // straight into the output, or into the group's partial.
  auto store = [&](int64_t gi, const kn_tensor* d, AttentionBatch::Operand which, const T* src,
                   int64_t j0, int64_t rows, int64_t cols, bool shared, std::vector<T>& part) {
    if (!d) return;
    if (shared) {
      std::copy(src, src + rows * cols, part.data() + (gi * S + j0) * cols);
      return;
    }
    T* base = static_cast<T*>(d->data) + g.batch.offset(members[static_cast<size_t>(start[gi])], which);
    const int64_t rr = d->strides[nb], cc = d->strides[nb + 1];
    for (int64_t j = 0; j < rows; ++j)
      for (int64_t e = 0; e < cols; ++e) base[(j0 + j) * rr + e * cc] = src[j * cols + e];
  };

  if (ngroups >= kMinGroupsOnePass || (nqb <= 1 && nkt <= 1)) {
    // One pass: a thread owns a group (its dk, dv and the dq of its members).
    run_items(ngroups, threads, make, [&](int64_t gi, Scratch& sc) {
      T* dK = sc.dkacc.data();
      T* dV = sc.dvacc.data();
      std::fill(sc.dkacc.begin(), sc.dkacc.end(), T(0));
      std::fill(sc.dvacc.begin(), sc.dvacc.end(), T(0));
      for (int64_t mi = start[gi]; mi < start[gi + 1]; ++mi) {
        const int64_t b = members[static_cast<size_t>(mi)];
        const Ptrs P = ptrs(b);
        // K^T and V^T packed once for all the query blocks of b (float with
        // the ladder's AVX-512 kernels; otherwise per-tile gemm).
        const int64_t kmax = rules.key_end(L);
        sc.qk.prepare(cview(P.K, S, E, g.k_r, g.k_c), kmax);
        sc.dov.prepare(cview(P.V, S, Ev, g.v_r, g.v_c), kmax);
        sc.packed = sc.qk.packed && sc.dov.packed;
        for (int64_t qb = 0; qb < nqb; ++qb) {
          const int64_t i0 = qb * kBlockQ, bq = std::min(kBlockQ, L - i0);
          const bool any = load_rows(P, i0, bq, sc);
          T* dQ = sc.dqacc.data();
          std::fill(dQ, dQ + bq * E, T(0));
          const auto Qb = cview(P.Q + i0 * g.q_r, bq, E, g.q_r, g.q_c);
          const auto DOb = cview(P.DO + i0 * do_r, bq, Ev, do_r, do_c);
          const int64_t kend = any ? rules.key_end(i0 + bq) : 0;
          for (int64_t j0 = 0; j0 < kend; j0 += kTileK) {
            const int64_t bk = std::min(kTileK, kend - j0);
            const T* pz = tile(b, P, i0, bq, j0, bk, sc);
            const auto Pz = cview<T>(pz, bq, bk, bk, 1);
            const auto dS = cview<T>(sc.ds.data(), bq, bk, bk, 1);
            if (dv) mm<T>(Pz.t(), DOb, {dV + j0 * Ev, bk, Ev, Ev, 1}, T(1), T(1));
            if (dk) mm<T>(dS.t(), Qb, {dK + j0 * E, bk, E, E, 1}, scale, T(1));
            if (dq)
              mm<T>(dS, cview(P.K + j0 * g.k_r, bk, E, g.k_r, g.k_c), {dQ, bq, E, E, 1}, scale, T(1));
          }
          write_dq(P, i0, bq, dQ);
        }
      }
      sc.packed = false;
      store(gi, dk, AttentionBatch::DK, dK, 0, S, E, k_shared, part_k);
      store(gi, dv, AttentionBatch::DV, dV, 0, S, Ev, v_shared, part_v);
    });
  } else {
    // Few groups: two passes with more work items. dk, dv over (group, key
    // tile): each sums its members' query blocks in order; dq over (batch
    // position, query block): each sums the key tiles in order. The tiles are
    // recomputed in both (seven products per tile instead of five).
    if (dk || dv)
      run_items(ngroups * nkt, threads, make, [&](int64_t item, Scratch& sc) {
        const int64_t gi = item / nkt, j0 = (item % nkt) * kTileK, bk = std::min(kTileK, S - j0);
        T* dK = sc.dkacc.data();
        T* dV = sc.dvacc.data();
        std::fill(dK, dK + bk * E, T(0));
        std::fill(dV, dV + bk * Ev, T(0));
        for (int64_t mi = start[gi]; mi < start[gi + 1]; ++mi) {
          const int64_t b = members[static_cast<size_t>(mi)];
          const Ptrs P = ptrs(b);
          for (int64_t qb = 0; qb < nqb; ++qb) {
            const int64_t i0 = qb * kBlockQ, bq = std::min(kBlockQ, L - i0);
            const int64_t kend = rules.key_end(i0 + bq);
            if (j0 >= kend || !load_rows(P, i0, bq, sc)) continue;
            const int64_t bkq = std::min(bk, kend - j0);  // keys this block can see
            const T* pz = tile(b, P, i0, bq, j0, bkq, sc);
            const auto Qb = cview(P.Q + i0 * g.q_r, bq, E, g.q_r, g.q_c);
            const auto DOb = cview(P.DO + i0 * do_r, bq, Ev, do_r, do_c);
            if (dv) mm<T>(cview<T>(pz, bq, bkq, bkq, 1).t(), DOb, {dV, bkq, Ev, Ev, 1}, T(1), T(1));
            if (dk)
              mm<T>(cview<T>(sc.ds.data(), bq, bkq, bkq, 1).t(), Qb, {dK, bkq, E, E, 1}, scale, T(1));
          }
        }
        store(gi, dk, AttentionBatch::DK, dK, j0, bk, E, k_shared, part_k);
        store(gi, dv, AttentionBatch::DV, dV, j0, bk, Ev, v_shared, part_v);
      });
    if (dq)
      run_items(nbatch * nqb, threads, make, [&](int64_t item, Scratch& sc) {
        const int64_t b = item / nqb, qb = item % nqb;
        const int64_t i0 = qb * kBlockQ, bq = std::min(kBlockQ, L - i0);
        const Ptrs P = ptrs(b);
        const bool any = load_rows(P, i0, bq, sc);
        T* dQ = sc.dqacc.data();
        std::fill(dQ, dQ + bq * E, T(0));
        const int64_t kend = any ? rules.key_end(i0 + bq) : 0;
        for (int64_t j0 = 0; j0 < kend; j0 += kTileK) {
          const int64_t bk = std::min(kTileK, kend - j0);
          tile(b, P, i0, bq, j0, bk, sc);
          mm<T>(cview<T>(sc.ds.data(), bq, bk, bk, 1), cview(P.K + j0 * g.k_r, bk, E, g.k_r, g.k_c),
                {dQ, bq, E, E, 1}, scale, T(1));
        }
        write_dq(P, i0, bq, dQ);
      });
  }
  // Positions of dk / dv fed by several groups: sum the partials in group order.
  auto reduce = [&](const kn_tensor* d, AttentionBatch::Operand which, const std::vector<T>& part,
                    int64_t cols) {
    zero_all(d);
    T* base = static_cast<T*>(d->data);
    const int64_t rr = d->strides[nb], cc = d->strides[nb + 1];
    for (int64_t gi = 0; gi < ngroups; ++gi) {
      T* dst = base + g.batch.offset(members[static_cast<size_t>(start[gi])], which);
      const T* src = part.data() + gi * S * cols;
      for (int64_t j = 0; j < S; ++j)
        for (int64_t e = 0; e < cols; ++e) dst[j * rr + e * cc] += src[j * cols + e];
    }
  };
  if (dk && k_shared) reduce(dk, AttentionBatch::DK, part_k, E);
  if (dv && v_shared) reduce(dv, AttentionBatch::DV, part_v, Ev);
}

}  // namespace

// The float32 softmax rows' choice (row_max, exp_sum, exp_sub and the online
// softmax tile above): kn_cpu_info reports it.
const char* sdpa_softmax_isa() {
#if KN_SDPA_AVX512
  if (cpu_has_avx512()) return "avx512";
#endif
  return "portable";
}

void scaled_dot_product_attention_forward(const Params& p, const kn_tensor& q, const kn_tensor& k,
                                          const kn_tensor& v, const kn_tensor* mask,
                                          const kn_tensor& out, const kn_tensor& lse,
                                          const CpuContext& ctx) {
  dispatch_float(q.dtype, "kn_scaled_dot_product_attention_forward", [&](auto tag) {
    forward<decltype(tag)>(p, q, k, v, mask, out, lse, resolve_num_threads(ctx.num_threads));
  });
}

void scaled_dot_product_attention_backward(const Params& p, const kn_tensor& dout,
                                           const kn_tensor& q, const kn_tensor& k,
                                           const kn_tensor& v, const kn_tensor* mask,
                                           const kn_tensor& out, const kn_tensor& lse,
                                           const kn_tensor* dq, const kn_tensor* dk,
                                           const kn_tensor* dv, const CpuContext& ctx) {
  dispatch_float(q.dtype, "kn_scaled_dot_product_attention_backward", [&](auto tag) {
    backward<decltype(tag)>(p, dout, q, k, v, mask, out, lse, dq, dk, dv,
                            resolve_num_threads(ctx.num_threads));
  });
}

}  // namespace kn::cpu
