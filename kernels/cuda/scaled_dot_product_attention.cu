// Scaled dot-product attention on CUDA: FlashAttention-2 style tiles on the
// CUDA cores (no tensor cores), float32 (float accumulation) and float64
// (double accumulation). Maths as capi/include/kernels/scaled_dot_product_attention.h
// and the CPU reference kernels/cpu/scaled_dot_product_attention.cpp:
//
//   forward   one block per (batch position b, query tile of B rows): the Q
//             tile stays in shared memory, the K and then the V tile of each
//             key tile are staged through one shared buffer; online softmax
//             (running row max m, running sum l, the output accumulator
//             rescaled by exp(m_old - m_new)); key tiles past the diagonal
//             are not visited when is_causal. out = acc / l, lse = m + log l;
//             a fully masked row (and S = 0) gives out = 0, lse = -inf.
//   backward  no atomics, no workspace, nothing of size L x S:
//             dq:     one block per (b, query tile), looping over the key tiles
//                     in order: P = exp(s - lse), dP = z (dout . v),
//                     dS = P (dP - D) scale, dq += dS k;
//             dk, dv: one block per (position of dk's / dv's batch, key tile),
//                     looping over every q batch position that broadcasts onto
//                     it (GQA: in row-major order) and over its query tiles in
//                     order: dv += P z dout, dk += dS q. When k and v have
//                     different batch shapes, dk and dv are two launches
//                     (each grouped by its own tensor's batch).
//             D_i = dout_i . out_i is recomputed inline by each block (a
//             B x Ev dot per query tile; cheap next to the B x B x E tile).
//             The same bits run to run (a fixed summation order everywhere).
//
// Layout: the tile height B (query and key tiles alike) is 32, or 16, or 8
// where the shared memory of the larger tiles exceeds the device's opt-in
// limit; 4 threads per tile row (B * 4 threads). Thread t owns row t / 4 and
// the columns c, c + 4, c + 8, ... (c = t % 4) of the score tile and of its
// accumulators (which live in shared memory, so the head dims are not bounded
// by registers; they are worked on eight columns at a time in registers).
// Shared rows are padded to a length = 4 (mod 32): the 8 rows x 4 column
// groups of a warp hit 32 distinct banks. Not tuned on a GPU yet (written and
// checked without one); tensor cores and larger register tiles are the next
// steps for speed.
//
// Limits: any E and Ev whose tiles fit the device's shared memory at B = 8.
// The backward's dk/dv kernel needs the most, B (3 E' + 3 Ev' + 72) elements
// (E', Ev': E, Ev padded to 4 mod 32): on an H100 (227 KB per block) E = Ev up
// to 1188 in float32 and 580 in float64 (with the full 32-row tiles: up to 260
// and 132). Larger head dims report KN_ERR_UNSUPPORTED, naming the shared memory
// needed and the device's limit.
//
// Every operand is read through its element strides (q, k, v may be views of
// one packed projection; broadcast batch dims through AttentionBatch). The
// dropout keep bit of (b, i, j) is Philox word (b L + i) S + j (philox.hpp),
// the same as the CPU's. Everything runs on ctx.stream: no allocation, no
// synchronisation, no zero-sized grid.
#include <math_constants.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/internal/attention_layout.hpp"
#include "kernels/internal/philox.hpp"
#include "kernels/ops/scaled_dot_product_attention.hpp"

namespace kn::cuda {
namespace {

using Params = kn_scaled_dot_product_attention_params;

constexpr int kTpr = 4;  // threads per tile row

// The accumulation type: float for float32, double for float64.
template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

__device__ __forceinline__ float neg_inf(float) { return -CUDART_INF_F; }
__device__ __forceinline__ double neg_inf(double) { return -CUDART_INF; }
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

// A shared row length >= n with length = 4 (mod 32).
__host__ __device__ __forceinline__ int padded(int n) { return n + ((4 - n % 32) + 32) % 32; }

// Everything the kernels need apart from the data pointers (by value).
// The operands' layout (batch, sizes, strides: attention_layout.hpp) and the
// rules of every tile; passed to the kernels by value.
struct Geometry : AttentionOperands {
  int mask_kind;  // 0: none, 1: bool / uint8, 2: float (q's dtype)
  int causal;
  double scale;
  int dropout;
  uint64_t seed, threshold;
  double drop_scale;
};
// The q batch positions that broadcast onto one position of a (dk or dv)
// batch `group` whose dims are each q's size or 1.
struct Group {
  int nb;
  int64_t qsize[KN_MAX_DIMS];  // q's batch sizes
  int64_t gsize[KN_MAX_DIMS];  // the group tensor's batch sizes
  int64_t count;               // positions of the group tensor
  int64_t members;             // q positions per group position (0 when q's batch is empty)
  int64_t dk_stride[KN_MAX_DIMS], dv_stride[KN_MAX_DIMS];  // batch strides of dk, dv (or 0)

  // Element offset of group position g in a tensor of the group's batch shape.
  __device__ int64_t offset(int64_t g, const int64_t* stride) const {
    int64_t off = 0;
    for (int d = nb - 1; d >= 0; --d) {
      off += (g % gsize[d]) * stride[d];
      g /= gsize[d];
    }
    return off;
  }

  // The u-th (row-major over the broadcast dims) q batch position of group
  // position g: increasing with u, so the summation order is fixed.
  __device__ int64_t member(int64_t g, int64_t u) const {
    int64_t b = 0, mul = 1;
    for (int d = nb - 1; d >= 0; --d) {
      int64_t idx;
      if (gsize[d] == qsize[d]) {
        idx = g % gsize[d];
        g /= gsize[d];
      } else {
        idx = u % qsize[d];
        u /= qsize[d];
      }
      b += idx * mul;
      mul *= qsize[d];
    }
    return b;
  }
};

// The additive mask value of (i, j) in the batch position whose mask offset is moff.
template <typename T, typename A>
__device__ __forceinline__ A mask_value(const Geometry& g, const void* mask, int64_t moff, int64_t i,
                                        int64_t j) {
  if (g.causal && j > i) return neg_inf(A());
  if (g.mask_kind == 0) return A(0);
  const int64_t off = moff + i * g.m_r + j * g.m_c;
  if (g.mask_kind == 1) return static_cast<const uint8_t*>(mask)[off] ? A(0) : neg_inf(A());
  return A(static_cast<const T*>(mask)[off]);
}

// z / (1 - p) of logical element `flat` = (b L + i) S + j.
template <typename A>
__device__ __forceinline__ A drop_factor(const Geometry& g, uint64_t flat) {
  if (!g.dropout) return A(1);
  const Philox4 r = philox_group(g.seed, flat / 4);
  return r.v[flat % 4] >= g.threshold ? A(g.drop_scale) : A(0);
}

// dst[r][e] (row length ld) = src[(row0 + r) * rs + e * cs] for r < B, e < cols;
// rows at or past `rows` are zero.
template <int B, typename T, typename A>
__device__ __forceinline__ void load_tile(A* dst, int ld, const T* src, int64_t row0, int64_t rows,
                                          int cols, int64_t rs, int64_t cs) {
  const int n = B * cols;
  for (int idx = threadIdx.x; idx < n; idx += blockDim.x) {
    const int r = idx / cols, e = idx - r * cols;
    const int64_t row = row0 + r;
    dst[r * ld + e] = row < rows ? A(src[row * rs + e * cs]) : A(0);
  }
}

// dot[kk] = sum_e a[e] b_kk[e] (e < n), b_kk = b + (c + kk * 4) * ldb: the
// thread's CPT dot products in one pass over e (a[e] read once; e in order,
// so each dot is summed as a plain loop would).
template <int CPT, typename A>
__device__ __forceinline__ void dots(A (&dot)[CPT], const A* a, const A* b, int ldb, int n, int c) {
#pragma unroll
  for (int kk = 0; kk < CPT; ++kk) dot[kk] = A(0);
  for (int e = 0; e < n; ++e) {
    const A av = a[e];
#pragma unroll
    for (int kk = 0; kk < CPT; ++kk) dot[kk] += av * b[(c + kk * kTpr) * ldb + e];
  }
}

// The thread's columns e = c, c + 4, ... (< cols) of one accumulator row:
// acc[e] = acc[e] alpha + sum_{x < n} w[x * ws] m[x * ldm + e], x in order.
// Eight columns at a time in registers (w[x] read once per eight).
template <typename A>
__device__ __forceinline__ void accumulate(A* acc, int cols, A alpha, const A* w, int ws, int n,
                                           const A* m, int ldm, int c) {
  constexpr int U = 8;
  for (int e0 = c; e0 < cols; e0 += kTpr * U) {
    A a[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int e = e0 + u * kTpr;
      a[u] = e < cols ? acc[e] * alpha : A(0);
    }
    for (int x = 0; x < n; ++x) {
      const A wx = w[x * ws];
      const A* mx = m + x * ldm;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int e = e0 + u * kTpr;
        if (e < cols) a[u] += wx * mx[e];
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int e = e0 + u * kTpr;
      if (e < cols) acc[e] = a[u];
    }
  }
}

// Shared memory (in accumulator elements) of each kernel at tile height B.
inline size_t forward_smem(int B, int E, int Ev) {
  return size_t(B) * (padded(E) + padded(std::max(E, Ev)) + padded(B) + padded(Ev));
}
inline size_t dq_smem(int B, int E, int Ev) {
  return size_t(B) * (3 * size_t(padded(E)) + 2 * size_t(padded(Ev)) + padded(B));
}
inline size_t dkdv_smem(int B, int E, int Ev) {
  return size_t(B) * (3 * size_t(padded(E)) + 3 * size_t(padded(Ev)) + 2 * size_t(padded(B)));
}

// ------------------------------------------------------------------ forward

template <typename T, int B>
__global__ void __launch_bounds__(B * kTpr)
    forward_kernel(Geometry g, const T* __restrict__ q, const T* __restrict__ k,
                   const T* __restrict__ v, const void* __restrict__ mask, T* __restrict__ out,
                   T* __restrict__ lse, int64_t tiles, int64_t work) {
  using A = typename AccOf<T>::type;
  constexpr int CPT = B / kTpr;  // score columns per thread
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* const sm = reinterpret_cast<A*>(smem_raw);
  const int ldq = padded(g.E), ldkv = padded(max(g.E, g.Ev)), ldp = padded(B), lda = padded(g.Ev);
  A* const sQ = sm;
  A* const sKV = sQ + B * ldq;
  A* const sP = sKV + B * ldkv;
  A* const sAcc = sP + B * ldp;
  const int r = threadIdx.x / kTpr, c = threadIdx.x % kTpr;
  const A scale = A(g.scale);

  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t b = w / tiles, i0 = (w - b * tiles) * B;
    const int64_t rows = min(int64_t(B), g.L - i0), i = i0 + r;
    const T* Q = q + g.batch.offset(b, AttentionBatch::Q);
    const T* K = k + g.batch.offset(b, AttentionBatch::K);
    const T* V = v + g.batch.offset(b, AttentionBatch::V);
    const int64_t moff = g.batch.offset(b, AttentionBatch::MASK);

    __syncthreads();  // the previous work item is done with the shared tiles
    load_tile<B>(sQ, ldq, Q, i0, g.L, g.E, g.q_r, g.q_c);
    for (int e = c; e < g.Ev; e += kTpr) sAcc[r * lda + e] = A(0);
    A m = neg_inf(A()), l = A(0);

    const int64_t kend = g.causal ? min(g.S, i0 + rows) : g.S;
    for (int64_t j0 = 0; j0 < kend; j0 += B) {
      const int64_t kn = min(int64_t(B), g.S - j0);
      __syncthreads();  // sKV / sP free (the previous tile's P V is done)
      load_tile<B>(sKV, ldkv, K, j0, g.S, g.E, g.k_r, g.k_c);
      __syncthreads();
      A s[CPT];
      dots<CPT>(s, sQ + r * ldq, sKV, ldkv, i < g.L ? g.E : 0, c);  // rows past S / L: zeros
      A mx = neg_inf(A());
#pragma unroll
      for (int kk = 0; kk < CPT; ++kk) {
        const int jl = c + kk * kTpr;
        const A mv = i < g.L && jl < kn ? mask_value<T, A>(g, mask, moff, i, j0 + jl) : neg_inf(A());
        s[kk] = mv != neg_inf(A()) ? scale * s[kk] + mv : neg_inf(A());
        mx = max(mx, s[kk]);
      }
      mx = max(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = max(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const A m_new = max(m, mx);
      // m_new = -inf: every score so far is masked; P = 0 and nothing to rescale.
      const bool live = m_new != neg_inf(A());
      const A alpha = live ? exp_(m - m_new) : A(1);
      A sum = 0;
#pragma unroll
      for (int kk = 0; kk < CPT; ++kk) {
        const int jl = c + kk * kTpr;
        const A pv = live ? exp_(s[kk] - m_new) : A(0);
        sum += pv;
        A pz = 0;
        if (pv != A(0))
          pz = pv * drop_factor<A>(g, (uint64_t(b) * uint64_t(g.L) + uint64_t(i)) * uint64_t(g.S) +
                                          uint64_t(j0 + jl));
        sP[r * ldp + jl] = pz;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      l = l * alpha + sum;
      m = m_new;
      __syncthreads();  // scores done with the K tile; sP complete
      load_tile<B>(sKV, ldkv, V, j0, g.S, g.Ev, g.v_r, g.v_c);
      __syncthreads();
      accumulate(sAcc + r * lda, g.Ev, alpha, sP + r * ldp, 1, int(kn), sKV, ldkv, c);
    }
    if (i < g.L) {
      T* O = out + g.batch.offset(b, AttentionBatch::OUT) + i * g.o_r;
      const bool empty = m == neg_inf(A());  // fully masked row, or S = 0
      const A inv = empty ? A(0) : A(1) / l;
      for (int e = c; e < g.Ev; e += kTpr) O[e * g.o_c] = T(empty ? A(0) : sAcc[r * lda + e] * inv);
      if (c == 0)
        lse[g.batch.offset(b, AttentionBatch::LSE) + i * g.lse_r] = T(empty ? m : m + log_(l));
    }
  }
}

// ------------------------------------------------------------------ backward

// The row values of query row i of batch position b: lse_i and D_i = dout_i . out_i
// (D summed by the row's 4 threads over their columns, then shuffled: every
// thread of the row gets the same value). Rows at or past L: lse = -inf.
template <typename T, typename A>
__device__ __forceinline__ void row_stats(const Geometry& g, const T* out, const T* dout,
                                          const T* lse, int64_t b, int64_t i, int c, A& lse_i,
                                          A& D) {
  A d = 0;
  lse_i = neg_inf(A());
  if (i < g.L) {
    const T* O = out + g.batch.offset(b, AttentionBatch::OUT) + i * g.o_r;
    const T* DO = dout + g.batch.offset(b, AttentionBatch::DOUT) + i * g.do_r;
    for (int e = c; e < g.Ev; e += kTpr) d += A(DO[e * g.do_c]) * A(O[e * g.o_c]);
    lse_i = A(lse[g.batch.offset(b, AttentionBatch::LSE) + i * g.lse_r]);
  }
  d += __shfl_xor_sync(0xffffffffu, d, 1);
  d += __shfl_xor_sync(0xffffffffu, d, 2);
  D = d;
}

// For thread (r, c) and the key columns jl = c + kk * 4 of a tile at j0:
// P (times z when `pz` is wanted) and dS = P (dP - D) scale into the shared
// tiles sPZ / sDS (row r). sQ, sDO: the query tile; sK, sV: the key tile.
template <typename T, int B, typename A>
__device__ __forceinline__ void pair_tile(const Geometry& g, const void* mask, int64_t moff,
                                          int64_t b, int64_t i, int64_t j0, int64_t kn, A lse_i,
                                          A D, const A* sQ, int ldq, const A* sDO, int ldo,
                                          const A* sK, int ldk, const A* sV, int ldv, A* sPZ,
                                          A* sDS, int ldp) {
  constexpr int CPT = B / kTpr;
  const int r = threadIdx.x / kTpr, c = threadIdx.x % kTpr;
  const A scale = A(g.scale);
  const bool row = i < g.L && lse_i != neg_inf(A());
  A qk[CPT], dov[CPT];
  dots<CPT>(qk, sQ + r * ldq, sK, ldk, row ? g.E : 0, c);
  dots<CPT>(dov, sDO + r * ldo, sV, ldv, row ? g.Ev : 0, c);
#pragma unroll
  for (int kk = 0; kk < CPT; ++kk) {
    const int jl = c + kk * kTpr;
    const int64_t j = j0 + jl;
    A pz = 0, ds = 0;
    if (row && jl < kn) {
      const A mv = mask_value<T, A>(g, mask, moff, i, j);
      if (mv != neg_inf(A())) {
        const A P = exp_(scale * qk[kk] + mv - lse_i);
        if (P != A(0)) {
          const A z =
              drop_factor<A>(g, (uint64_t(b) * uint64_t(g.L) + uint64_t(i)) * uint64_t(g.S) + uint64_t(j));
          const A dP = z != A(0) ? dov[kk] * z : A(0);
          pz = P * z;
          ds = P * (dP - D) * scale;
        }
      }
    }
    if (sPZ) sPZ[r * ldp + jl] = pz;
    sDS[r * ldp + jl] = ds;
  }
}

template <typename T, int B>
__global__ void __launch_bounds__(B * kTpr)
    dq_kernel(Geometry g, const T* __restrict__ dout, const T* __restrict__ q,
              const T* __restrict__ k, const T* __restrict__ v, const void* __restrict__ mask,
              const T* __restrict__ out, const T* __restrict__ lse, T* __restrict__ dq,
              int64_t tiles, int64_t work) {
  using A = typename AccOf<T>::type;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* const sm = reinterpret_cast<A*>(smem_raw);
  const int ldq = padded(g.E), ldv = padded(g.Ev), ldp = padded(B);
  A* const sQ = sm;
  A* const sK = sQ + B * ldq;
  A* const sAcc = sK + B * ldq;
  A* const sDO = sAcc + B * ldq;
  A* const sV = sDO + B * ldv;
  A* const sDS = sV + B * ldv;
  const int r = threadIdx.x / kTpr, c = threadIdx.x % kTpr;

  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t b = w / tiles, i0 = (w - b * tiles) * B;
    const int64_t rows = min(int64_t(B), g.L - i0), i = i0 + r;
    const T* K = k + g.batch.offset(b, AttentionBatch::K);
    const T* V = v + g.batch.offset(b, AttentionBatch::V);
    const int64_t moff = g.batch.offset(b, AttentionBatch::MASK);

    __syncthreads();
    load_tile<B>(sQ, ldq, q + g.batch.offset(b, AttentionBatch::Q), i0, g.L, g.E, g.q_r, g.q_c);
    load_tile<B>(sDO, ldv, dout + g.batch.offset(b, AttentionBatch::DOUT), i0, g.L, g.Ev, g.do_r,
                 g.do_c);
    for (int e = c; e < g.E; e += kTpr) sAcc[r * ldq + e] = A(0);
    A lse_i, D;
    row_stats<T, A>(g, out, dout, lse, b, i, c, lse_i, D);

    const int64_t kend = g.causal ? min(g.S, i0 + rows) : g.S;
    for (int64_t j0 = 0; j0 < kend; j0 += B) {
      const int64_t kn = min(int64_t(B), g.S - j0);
      __syncthreads();  // sK / sV / sDS free
      load_tile<B>(sK, ldq, K, j0, g.S, g.E, g.k_r, g.k_c);
      load_tile<B>(sV, ldv, V, j0, g.S, g.Ev, g.v_r, g.v_c);
      __syncthreads();
      pair_tile<T, B, A>(g, mask, moff, b, i, j0, kn, lse_i, D, sQ, ldq, sDO, ldv, sK, ldq, sV, ldv,
                         nullptr, sDS, ldp);
      __syncthreads();
      accumulate(sAcc + r * ldq, g.E, A(1), sDS + r * ldp, 1, int(kn), sK, ldq, c);
    }
    if (i < g.L) {
      T* DQ = dq + g.batch.offset(b, AttentionBatch::DQ) + i * g.dq_r;
      for (int e = c; e < g.E; e += kTpr) DQ[e * g.dq_c] = T(sAcc[r * ldq + e]);
    }
  }
}

// dk and / or dv (either may be null) of one key tile of one position of the
// group batch, summed over the group's q positions and their query tiles.
template <typename T, int B>
__global__ void __launch_bounds__(B * kTpr)
    dkdv_kernel(Geometry g, Group grp, const T* __restrict__ dout, const T* __restrict__ q,
                const T* __restrict__ k, const T* __restrict__ v, const void* __restrict__ mask,
                const T* __restrict__ out, const T* __restrict__ lse, T* __restrict__ dk,
                T* __restrict__ dv, int64_t tiles, int64_t work) {
  using A = typename AccOf<T>::type;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  A* const sm = reinterpret_cast<A*>(smem_raw);
  const int ldq = padded(g.E), ldv = padded(g.Ev), ldp = padded(B);
  A* const sK = sm;
  A* const sQ = sK + B * ldq;
  A* const sdK = sQ + B * ldq;
  A* const sV = sdK + B * ldq;
  A* const sDO = sV + B * ldv;
  A* const sdV = sDO + B * ldv;
  A* const sPZ = sdV + B * ldv;
  A* const sDS = sPZ + B * ldp;
  const int r = threadIdx.x / kTpr, c = threadIdx.x % kTpr;  // r: query row, then key row
  const int64_t qtiles = (g.L + B - 1) / B;

  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t gp = w / tiles, j0 = (w - gp * tiles) * B;
    const int64_t kn = min(int64_t(B), g.S - j0);
    __syncthreads();
    for (int e = c; e < g.E; e += kTpr) sdK[r * ldq + e] = A(0);
    for (int e = c; e < g.Ev; e += kTpr) sdV[r * ldv + e] = A(0);
    int64_t koff = -1, voff = -1;
    bool loaded = false;
    for (int64_t u = 0; u < grp.members; ++u) {
      const int64_t b = grp.member(gp, u);
      const int64_t kb = g.batch.offset(b, AttentionBatch::K), vb = g.batch.offset(b, AttentionBatch::V);
      const int64_t moff = g.batch.offset(b, AttentionBatch::MASK);
      const T* Q = q + g.batch.offset(b, AttentionBatch::Q);
      const T* DO = dout + g.batch.offset(b, AttentionBatch::DOUT);
      if (!loaded || kb != koff || vb != voff) {  // the same for the whole block
        __syncthreads();
        load_tile<B>(sK, ldq, k + kb, j0, g.S, g.E, g.k_r, g.k_c);
        load_tile<B>(sV, ldv, v + vb, j0, g.S, g.Ev, g.v_r, g.v_c);
        koff = kb, voff = vb, loaded = true;
      }
      // Causal: query tiles entirely above the diagonal (every i < j0) take no part.
      for (int64_t qt = g.causal ? j0 / B : 0; qt < qtiles; ++qt) {
        const int64_t i0 = qt * B, i = i0 + r;
        __syncthreads();  // sQ / sDO / sPZ / sDS free
        load_tile<B>(sQ, ldq, Q, i0, g.L, g.E, g.q_r, g.q_c);
        load_tile<B>(sDO, ldv, DO, i0, g.L, g.Ev, g.do_r, g.do_c);
        A lse_i, D;
        row_stats<T, A>(g, out, dout, lse, b, i, c, lse_i, D);
        __syncthreads();
        pair_tile<T, B, A>(g, mask, moff, b, i, j0, kn, lse_i, D, sQ, ldq, sDO, ldv, sK, ldq, sV,
                           ldv, sPZ, sDS, ldp);
        __syncthreads();
        // Key row r of the tile: dv_r += sum_i PZ[i][r] dout_i, dk_r += sum_i dS[i][r] q_i.
        if (dv) accumulate(sdV + r * ldv, g.Ev, A(1), sPZ + r, ldp, B, sDO, ldv, c);
        if (dk) accumulate(sdK + r * ldq, g.E, A(1), sDS + r, ldp, B, sQ, ldq, c);
      }
    }
    if (r < kn) {
      const int64_t j = j0 + r;
      if (dk) {
        T* DK = dk + grp.offset(gp, grp.dk_stride) + j * g.dk_r;
        for (int e = c; e < g.E; e += kTpr) DK[e * g.dk_c] = T(sdK[r * ldq + e]);
      }
      if (dv) {
        T* DV = dv + grp.offset(gp, grp.dv_stride) + j * g.dv_r;
        for (int e = c; e < g.Ev; e += kTpr) DV[e * g.dv_c] = T(sdV[r * ldv + e]);
      }
    }
  }
}

// ------------------------------------------------------------------ host

Geometry make_geometry(const Params& p, const kn_tensor& q, const kn_tensor& k, const kn_tensor& v,
                       const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse,
                       const kn_tensor* dout = nullptr, const kn_tensor* dq = nullptr,
                       const kn_tensor* dk = nullptr, const kn_tensor* dv = nullptr) {
  Geometry g{};
  g.set(q, k, v, m, out, lse, dout, dq, dk, dv);
  g.mask_kind = !m ? 0 : (m->dtype == KN_BOOL || m->dtype == KN_UINT8) ? 1 : 2;
  g.causal = p.is_causal;
  g.scale = p.scale;
  g.dropout = p.dropout_p > 0.0;
  g.seed = p.seed;
  g.threshold = dropout_threshold(p.dropout_p);
  g.drop_scale = dropout_scale(p.dropout_p);
  return g;
}

// The group batch of `t` (k or v): its batch sizes against q's; the batch
// strides of the gradients written (dk / dv: t's shape, validated).
Group make_group(const kn_tensor& q, const kn_tensor& t, const kn_tensor* dk, const kn_tensor* dv) {
  Group grp{};
  grp.nb = q.ndim - 2;
  grp.count = 1;
  grp.members = 1;
  for (int d = 0; d < grp.nb; ++d) {
    grp.qsize[d] = q.shape[d];
    grp.gsize[d] = t.shape[d];
    grp.count *= t.shape[d];
    if (t.shape[d] != q.shape[d]) grp.members *= q.shape[d];  // t.shape[d] == 1
    grp.dk_stride[d] = dk ? dk->strides[d] : 0;
    grp.dv_stride[d] = dv ? dv->strides[d] : 0;
  }
  return grp;
}

bool same_batch(const kn_tensor& a, const kn_tensor& b, int nb) {
  for (int d = 0; d < nb; ++d)
    if (a.shape[d] != b.shape[d]) return false;
  return true;
}

// The tile height whose shared memory (elems(B) accumulator elements) fits
// the device: 32, else 16, else 8; 0 = none (bytes: what 8 would need).
template <typename A, typename SmemOf>
int pick_tile(CudaCall& call, SmemOf elems, size_t& bytes, int& limit) {
  cudaError_t e = cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, call.device());
  if (e != cudaSuccess) fail_cuda(e, call.op(), "cannot query CUDA device ", call.device());
  for (int B : {32, 16, 8}) {
    bytes = elems(B) * sizeof(A);
    if (bytes <= size_t(limit)) return B;
  }
  return 0;
}

// f(std::integral_constant<int, B>) for the tile height B (32, 16 or 8).
template <typename F>
void with_tile(int B, F f) {
  if (B == 32)
    f(std::integral_constant<int, 32>{});
  else if (B == 16)
    f(std::integral_constant<int, 16>{});
  else
    f(std::integral_constant<int, 8>{});
}

// Launches kernel over `work` blocks of B * 4 threads with `bytes` of dynamic
// shared memory (the attribute set to the device's opt-in limit: the same
// value from every thread, so concurrent calls cannot race on it).
template <typename Kernel, typename... Args>
void launch(CudaCall& call, const char* name, Kernel kernel, int B, int64_t work, size_t bytes,
            int limit, Args... args) {
  if (work == 0) return;
  if (bytes > 48 * 1024) {
    const cudaError_t e =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, limit);
    if (e != cudaSuccess) fail_cuda(e, call.op(), "cannot raise the shared memory of ", name);
  }
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(work, INT_MAX));
  kernel<<<blocks, static_cast<unsigned>(B * kTpr), bytes, call.stream()>>>(args...);
  call.check_launch(name);
}

[[noreturn]] void too_large(const CudaCall& call, int E, int Ev, size_t bytes, int limit) {
  fail(KN_ERR_UNSUPPORTED, call.op(), ": head dims E = ", E, ", Ev = ", Ev,
       " need ", bytes, " bytes of shared memory per block even with 8-row tiles; CUDA device ",
       call.device(), " allows ", limit);
}

// The shared-memory sizes (forward_smem, ...) and the tile loops take head dims as int:
// far beyond any shared memory anyway.
void check_head_dims(const CudaCall& call, int64_t E, int64_t Ev) {
  if (E > 65536 || Ev > 65536)
    fail(KN_ERR_UNSUPPORTED, call.op(), ": head dims E = ", E, ", Ev = ", Ev,
         " exceed the shared memory of any CUDA device");
}

template <typename T>
void forward(const Params& p, const kn_tensor& q, const kn_tensor& k, const kn_tensor& v,
             const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse, CudaCall& call) {
  using A = typename AccOf<T>::type;
  const int nb = q.ndim - 2;
  check_head_dims(call, q.shape[nb + 1], v.shape[nb + 1]);
  const Geometry g = make_geometry(p, q, k, v, m, out, lse);
  if (g.batch.count == 0 || g.L == 0) return;
  size_t bytes = 0;
  int limit = 0;
  const int B = pick_tile<A>(call, [&](int b) { return forward_smem(b, g.E, g.Ev); }, bytes, limit);
  if (B == 0) too_large(call, g.E, g.Ev, bytes, limit);
  const int64_t tiles = (g.L + B - 1) / B, work = g.batch.count * tiles;
  const T* Q = static_cast<const T*>(q.data);
  const T* K = static_cast<const T*>(k.data);
  const T* V = static_cast<const T*>(v.data);
  const void* M = m ? m->data : nullptr;
  T* O = static_cast<T*>(out.data);
  T* LSE = static_cast<T*>(lse.data);
  with_tile(B, [&](auto tb) {
    launch(call, "sdpa forward_kernel", forward_kernel<T, decltype(tb)::value>, B, work, bytes,
           limit, g, Q, K, V, M, O, LSE, tiles, work);
  });
}

template <typename T>
void backward(const Params& p, const kn_tensor& dout, const kn_tensor& q, const kn_tensor& k,
              const kn_tensor& v, const kn_tensor* m, const kn_tensor& out, const kn_tensor& lse,
              const kn_tensor* dq, const kn_tensor* dk, const kn_tensor* dv, CudaCall& call) {
  using A = typename AccOf<T>::type;
  const int nb = q.ndim - 2;
  check_head_dims(call, q.shape[nb + 1], v.shape[nb + 1]);
  const Geometry g = make_geometry(p, q, k, v, m, out, lse, &dout, dq, dk, dv);
  const T* DO = static_cast<const T*>(dout.data);
  const T* Q = static_cast<const T*>(q.data);
  const T* K = static_cast<const T*>(k.data);
  const T* V = static_cast<const T*>(v.data);
  const void* M = m ? m->data : nullptr;
  const T* O = static_cast<const T*>(out.data);
  const T* LSE = static_cast<const T*>(lse.data);

  if (dq && g.batch.count > 0 && g.L > 0) {
    size_t bytes = 0;
    int limit = 0;
    const int B = pick_tile<A>(call, [&](int b) { return dq_smem(b, g.E, g.Ev); }, bytes, limit);
    if (B == 0) too_large(call, g.E, g.Ev, bytes, limit);
    const int64_t tiles = (g.L + B - 1) / B, work = g.batch.count * tiles;
    T* DQ = static_cast<T*>(dq->data);
    with_tile(B, [&](auto tb) {
      launch(call, "sdpa dq_kernel", dq_kernel<T, decltype(tb)::value>, B, work, bytes, limit, g,
             DO, Q, K, V, M, O, LSE, DQ, tiles, work);
    });
  }

  // dk and dv: one launch when k and v share their batch shape, else one each.
  auto dkdv = [&](const kn_tensor& group_of, const kn_tensor* dkt, const kn_tensor* dvt) {
    const Group grp = make_group(q, group_of, dkt, dvt);
    if (grp.count == 0 || g.S == 0) return;
    size_t bytes = 0;
    int limit = 0;
    const int B = pick_tile<A>(call, [&](int b) { return dkdv_smem(b, g.E, g.Ev); }, bytes, limit);
    if (B == 0) too_large(call, g.E, g.Ev, bytes, limit);
    const int64_t tiles = (g.S + B - 1) / B, work = grp.count * tiles;
    T* DK = dkt ? static_cast<T*>(dkt->data) : nullptr;
    T* DV = dvt ? static_cast<T*>(dvt->data) : nullptr;
    with_tile(B, [&](auto tb) {
      launch(call, "sdpa dkdv_kernel", dkdv_kernel<T, decltype(tb)::value>, B, work, bytes, limit,
             g, grp, DO, Q, K, V, M, O, LSE, DK, DV, tiles, work);
    });
  };
  if (dk && dv && same_batch(k, v, nb)) {
    dkdv(k, dk, dv);
  } else {
    if (dk) dkdv(k, dk, nullptr);
    if (dv) dkdv(v, nullptr, dv);
  }
}

}  // namespace

void scaled_dot_product_attention_forward(const Params& p, const kn_tensor& q, const kn_tensor& k,
                                          const kn_tensor& v, const kn_tensor* mask,
                                          const kn_tensor& out, const kn_tensor& lse,
                                          const CudaContext& ctx) {
  CudaCall call("kn_scaled_dot_product_attention_forward", q, ctx);
  dispatch_float(q.dtype, call.op(), [&](auto tag) {
    forward<decltype(tag)>(p, q, k, v, mask, out, lse, call);
  });
}

void scaled_dot_product_attention_backward(const Params& p, const kn_tensor& dout,
                                           const kn_tensor& q, const kn_tensor& k,
                                           const kn_tensor& v, const kn_tensor* mask,
                                           const kn_tensor& out, const kn_tensor& lse,
                                           const kn_tensor* dq, const kn_tensor* dk,
                                           const kn_tensor* dv, const CudaContext& ctx) {
  CudaCall call("kn_scaled_dot_product_attention_backward", q, ctx);
  dispatch_float(q.dtype, call.op(), [&](auto tag) {
    backward<decltype(tag)>(p, dout, q, k, v, mask, out, lse, dq, dk, dv, call);
  });
}

}  // namespace kn::cuda
