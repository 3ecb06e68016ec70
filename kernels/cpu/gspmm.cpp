// gSpMM (generalized sparse-dense matrix multiplication) on a CSR graph, CPU.
//
// Shapes: indptr:(V+1) indices:(E) [edge k of row v: k in [indptr[v], indptr[v+1]),
// source u = indices[k]], edge_values w:(E)?, x:(U,F), y, arg, dy:(V,F),
// dx:(U,F), dedge:(E); transposed graph t_indptr:(U+1), t_indices:(E) (the
// destination v of each edge), t_edge_ids:(E) (its forward position k).
//
//   msg(k, f) = x[u, f] * (w[k] for U_MUL_E, 1 for COPY_U)
//   forward:  y[v, f] = sum_k msg(k, f)            (SUM)
//                     = sum_k msg(k, f) / len(v)   (MEAN)
//                     = max_k / min_k msg(k, f)    (MAX / MIN), arg[v, f] = the
//                       winning k (first on ties; a NaN wins and stays), -1 if empty
//             an empty row gives y = 0.
//   backward: dx[u, f]  = sum over edges k = (u -> v) of dy[v, f] * w[k] * c(v, f, k)
//             dedge[k]  = sum_f dy[v, f] * x[u, f] * c(v, f, k)      (U_MUL_E)
//             c = 1 (SUM), 1 / len(v) (MEAN), [arg[v, f] == k] (MAX / MIN)
//
// Parallel over output rows only (y and dedge by destination row, dx by source
// row over the transposed graph): each output element is written by one
// thread, no atomics. Rows are split between threads by EDGES (+ rows): indptr
// is a prefix sum, so the split points are binary searches, and a skewed graph
// stays balanced. The result does not depend on the split: each row is
// computed by the same code in the same order whatever thread runs it.
//
// Inner loops run over blocks of F (kBlock elements: accumulators stay in
// registers) and are compiled as AVX-512/AVX2/baseline clones (KN_SIMD_CLONES);
// column stride 1 on every row operand (x / dy / arg read, y / dx written)
// gets its own instantiation. The x (dy) rows of the edges kPrefetch ahead
// are prefetched: the gathers are random rows of a table larger than the
// caches (measured: 10-25% on 100k nodes, 1M edges, F = 64).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/gspmm.hpp"

namespace kn::cpu {
namespace {

// Work (edges * F) per thread below which splitting does not pay.
constexpr int64_t kGraphGrain = 1 << 15;
// Edges ahead whose x rows are prefetched.
constexpr int64_t kPrefetch = 6;

// A strided 1-d index tensor.
template <typename I>
struct Idx {
  const I* p;
  int64_t s;
  int64_t operator[](int64_t i) const { return static_cast<int64_t>(p[i * s]); }
};

template <typename I>
Idx<I> idx(const kn_tensor& t) {
  return {data_as<const I>(t), t.strides[0]};
}

// nt + 1 row boundaries splitting [0, V) into nt ranges of about equal
// cost(r) = indptr[r] + r (edges plus rows, so empty rows count too).
template <typename I>
std::vector<int64_t> row_splits(Idx<I> ip, int64_t V, int nt) {
  std::vector<int64_t> s(static_cast<size_t>(nt) + 1, V);
  s[0] = 0;
  const int64_t total = ip[V] + V;
  for (int t = 1; t < nt; ++t) {
    const int64_t target = static_cast<int64_t>(static_cast<double>(total) * t / nt);
    int64_t lo = s[t - 1], hi = V;  // smallest r in [lo, V] with cost(r) >= target
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (ip[mid] + mid < target)
        lo = mid + 1;
      else
        hi = mid;
    }
    s[t] = lo;
  }
  return s;
}

// fn(r0, r1) over [0, V) on up to `threads` threads, balanced by edges.
template <typename I, typename Fn>
void for_rows(Idx<I> ip, int64_t V, int64_t F, int threads, Fn&& fn) {
  if (V <= 0) return;
  const int64_t work = (ip[V] + V) * std::max<int64_t>(F, 1);
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, work / kGraphGrain)));
  if (nt == 1) {
    fn(int64_t{0}, V);
    return;
  }
  const std::vector<int64_t> s = row_splits(ip, V, nt);
  parallel_for(nt, 1, nt, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      if (s[b] < s[b + 1]) fn(s[b], s[b + 1]);
  });
}

template <typename T>
constexpr int64_t kBlock = 256 / static_cast<int64_t>(sizeof(T));  // 4 AVX-512 registers

enum Red { kSum = 0, kMax = 1, kMin = 2 };

// ---------------------------------------------------------------- forward

template <typename T, typename I>
struct FwdArgs {
  Idx<I> ip, ix;
  const T* w;  // edge values or nullptr
  int64_t ws;
  const T* x;
  int64_t xs0, xs1;
  T* y;
  int64_t ys0, ys1;
  void* arg;
  int64_t as0, as1;
  bool arg64, mean;
  int64_t F;
};

template <bool kUnit, typename T, typename I>
inline __attribute__((always_inline)) void store_arg(const FwdArgs<T, I>& a, int64_t v, int64_t f0,
                                                     int64_t n, const int64_t* at) {
  const int64_t s1 = kUnit ? 1 : a.as1;
  if (a.arg64) {
    int64_t* o = static_cast<int64_t*>(a.arg) + v * a.as0 + f0 * s1;
    for (int64_t j = 0; j < n; ++j) o[j * s1] = at[j];
  } else {
    int32_t* o = static_cast<int32_t*>(a.arg) + v * a.as0 + f0 * s1;
    for (int64_t j = 0; j < n; ++j) o[j * s1] = static_cast<int32_t>(at[j]);
  }
}

// One F-block [f0, f0 + n) of row v; kFull: n == kBlock (a constant trip
// count); kUnit: x, y (and arg) have column stride 1.
template <int kRed, bool kUnit, bool kFull, typename T, typename I>
inline __attribute__((always_inline)) void forward_block(const FwdArgs<T, I>& a, int64_t v,
                                                         int64_t k0, int64_t k1, int64_t f0,
                                                         int64_t n_) {
  constexpr int64_t B = kBlock<T>;
  const int64_t n = kFull ? B : n_;
  const int64_t s1 = kUnit ? 1 : a.xs1, ys1 = kUnit ? 1 : a.ys1;
  const T* xb = a.x + f0 * s1;
  T* yb = a.y + v * a.ys0 + f0 * ys1;
  T acc[B];
  if (kRed == kSum) {
    for (int64_t j = 0; j < n; ++j) acc[j] = T(0);
    for (int64_t k = k0; k < k1; ++k) {
      if (k + kPrefetch < k1) __builtin_prefetch(xb + a.ix[k + kPrefetch] * a.xs0);
      const T* xr = xb + a.ix[k] * a.xs0;
      const T w = a.w ? a.w[k * a.ws] : T(1);
      for (int64_t j = 0; j < n; ++j) acc[j] += xr[j * s1] * w;
    }
    if (a.mean && k1 > k0) {
      const T len = static_cast<T>(k1 - k0);
      for (int64_t j = 0; j < n; ++j) yb[j * ys1] = acc[j] / len;
    } else {
      for (int64_t j = 0; j < n; ++j) yb[j * ys1] = acc[j];
    }
    return;
  }
  int64_t at[B];
  if (k0 == k1) {
    for (int64_t j = 0; j < n; ++j) yb[j * ys1] = T(0), at[j] = -1;
    store_arg<kUnit>(a, v, f0, n, at);
    return;
  }
  {
    const T* xr = xb + a.ix[k0] * a.xs0;
    const T w = a.w ? a.w[k0 * a.ws] : T(1);
    for (int64_t j = 0; j < n; ++j) acc[j] = xr[j * s1] * w, at[j] = k0;
  }
  for (int64_t k = k0 + 1; k < k1; ++k) {
    if (k + kPrefetch < k1) __builtin_prefetch(xb + a.ix[k + kPrefetch] * a.xs0);
    const T* xr = xb + a.ix[k] * a.xs0;
    const T w = a.w ? a.w[k * a.ws] : T(1);
    for (int64_t j = 0; j < n; ++j) {
      const T m = xr[j * s1] * w;
      // Greater (smaller), or the first NaN (torch's amax/amin propagate NaN).
      const bool take = (kRed == kMax ? m > acc[j] : m < acc[j]) | ((m != m) & (acc[j] == acc[j]));
      acc[j] = take ? m : acc[j];
      at[j] = take ? k : at[j];
    }
  }
  for (int64_t j = 0; j < n; ++j) yb[j * ys1] = acc[j];
  store_arg<kUnit>(a, v, f0, n, at);
}

template <int kRed, bool kUnit, typename T, typename I>
KN_SIMD_CLONES void forward_rows(const FwdArgs<T, I>& a, int64_t v0, int64_t v1) {
  constexpr int64_t B = kBlock<T>;
  for (int64_t v = v0; v < v1; ++v) {
    const int64_t k0 = a.ip[v], k1 = a.ip[v + 1];
    int64_t f0 = 0;
    for (; f0 + B <= a.F; f0 += B) forward_block<kRed, kUnit, true>(a, v, k0, k1, f0, B);
    if (f0 < a.F) forward_block<kRed, kUnit, false>(a, v, k0, k1, f0, a.F - f0);
  }
}

template <int kRed, typename T, typename I>
void forward_range(const FwdArgs<T, I>& a, int64_t v0, int64_t v1) {
  if (a.xs1 == 1 && a.ys1 == 1 && (kRed == kSum || a.as1 == 1))
    forward_rows<kRed, true>(a, v0, v1);
  else
    forward_rows<kRed, false>(a, v0, v1);
}

// ---------------------------------------------------------------- backward dx

template <typename T, typename I, typename A>
struct DxArgs {
  Idx<I> ip, tp, ti, te;
  const T* w;
  int64_t ws;
  const T* dy;
  int64_t dys0, dys1;
  const A* arg;  // MAX / MIN: gradient only where arg[v, f] == k
  int64_t as0, as1;
  T* dx;
  int64_t dxs0, dxs1;
  bool mean;
  int64_t F;
};

template <bool kArg, bool kUnit, bool kFull, typename T, typename I, typename A>
inline __attribute__((always_inline)) void dx_block(const DxArgs<T, I, A>& a, int64_t u,
                                                    int64_t t0, int64_t t1, int64_t f0,
                                                    int64_t n_) {
  constexpr int64_t B = kBlock<T>;
  const int64_t n = kFull ? B : n_;
  const int64_t s1 = kUnit ? 1 : a.dys1;
  const int64_t r1 = kUnit ? 1 : a.as1;
  T acc[B];
  for (int64_t j = 0; j < n; ++j) acc[j] = T(0);
  const T* dyb = a.dy + f0 * s1;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t v = a.ti[t], k = a.te[t];
    if (t + kPrefetch < t1) __builtin_prefetch(dyb + a.ti[t + kPrefetch] * a.dys0);
    const T* dr = dyb + v * a.dys0;
    T c = a.w ? a.w[k * a.ws] : T(1);
    if (kArg) {
      const A* ar = a.arg + v * a.as0 + f0 * r1;
      const A kk = static_cast<A>(k);
      for (int64_t j = 0; j < n; ++j) acc[j] += ar[j * r1] == kk ? dr[j * s1] * c : T(0);
    } else {
      if (a.mean) c = c / static_cast<T>(a.ip[v + 1] - a.ip[v]);
      for (int64_t j = 0; j < n; ++j) acc[j] += dr[j * s1] * c;
    }
  }
  const int64_t o1 = kUnit ? 1 : a.dxs1;
  T* o = a.dx + u * a.dxs0 + f0 * o1;
  for (int64_t j = 0; j < n; ++j) o[j * o1] = acc[j];
}

template <bool kArg, bool kUnit, typename T, typename I, typename A>
KN_SIMD_CLONES void dx_rows(const DxArgs<T, I, A>& a, int64_t u0, int64_t u1) {
  constexpr int64_t B = kBlock<T>;
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t t0 = a.tp[u], t1 = a.tp[u + 1];
    int64_t f0 = 0;
    for (; f0 + B <= a.F; f0 += B) dx_block<kArg, kUnit, true>(a, u, t0, t1, f0, B);
    if (f0 < a.F) dx_block<kArg, kUnit, false>(a, u, t0, t1, f0, a.F - f0);
  }
}

// ---------------------------------------------------------------- backward dedge

template <typename T, typename I, typename A>
struct DeArgs {
  Idx<I> ip, ix;
  const T* dy;
  int64_t dys0, dys1;
  const T* x;
  int64_t xs0, xs1;
  const A* arg;
  int64_t as0, as1;
  T* de;
  int64_t des;
  bool mean;
  int64_t F;
};

template <bool kArg, bool kUnit, typename T, typename I, typename A>
KN_SIMD_CLONES void dedge_rows(const DeArgs<T, I, A>& a, int64_t v0, int64_t v1) {
  constexpr int64_t L = 64 / static_cast<int64_t>(sizeof(T));  // one AVX-512 register of lanes
  const int64_t ds = kUnit ? 1 : a.dys1, xs = kUnit ? 1 : a.xs1, as = kUnit ? 1 : a.as1;
  for (int64_t v = v0; v < v1; ++v) {
    const int64_t k0 = a.ip[v], k1 = a.ip[v + 1];
    const T* dr = a.dy + v * a.dys0;
    const A* ar = kArg ? a.arg + v * a.as0 : nullptr;
    for (int64_t k = k0; k < k1; ++k) {
      if (k + kPrefetch < k1) __builtin_prefetch(a.x + a.ix[k + kPrefetch] * a.xs0);
      const T* xr = a.x + a.ix[k] * a.xs0;
      T lanes[L];
      for (int64_t l = 0; l < L; ++l) lanes[l] = T(0);
      const A kk = static_cast<A>(k);
      int64_t f = 0;
      for (; f + L <= a.F; f += L)
        for (int64_t l = 0; l < L; ++l) {
          const T p = dr[(f + l) * ds] * xr[(f + l) * xs];
          lanes[l] += kArg ? (ar[(f + l) * as] == kk ? p : T(0)) : p;
        }
      for (int64_t l = 0; f + l < a.F; ++l) {
        const T p = dr[(f + l) * ds] * xr[(f + l) * xs];
        lanes[l] += kArg ? (ar[(f + l) * as] == kk ? p : T(0)) : p;
      }
      T s = T(0);
      for (int64_t l = 0; l < L; ++l) s += lanes[l];
      if (!kArg && a.mean) s = s / static_cast<T>(k1 - k0);
      a.de[k * a.des] = s;
    }
  }
}

}  // namespace

// Counting sort by source, stable in k, in parallel: the edges are cut into
// nt ranges of whole destination rows (in k order); each range counts its
// sources, the per-(range, source) counts are turned into write offsets
// (source-major, range-minor), and each range writes its edges in k order.
// So every source's list is in increasing k, for any nt.
void csr_transpose(const kn_tensor& indptr, const kn_tensor& indices, const kn_tensor& t_indptr,
                   const kn_tensor& t_indices, const kn_tensor& t_edge_ids, const CpuContext& ctx) {
  dispatch_index(indptr.dtype, "kn_csr_transpose", [&](auto itag) {
    using I = decltype(itag);
    const Idx<I> ip = idx<I>(indptr), ix = idx<I>(indices);
    const int64_t V = indptr.shape[0] - 1, U = t_indptr.shape[0] - 1;
    I* tp = data_as<I>(t_indptr);
    I* ti = data_as<I>(t_indices);
    I* te = data_as<I>(t_edge_ids);
    const int64_t tps = t_indptr.strides[0], tis = t_indices.strides[0], tes = t_edge_ids.strides[0];
    const int64_t E = ip[V];
    // More ranges only when each has enough edges to pay for its U counters.
    const int nt = static_cast<int>(std::max<int64_t>(
        1, std::min<int64_t>(ctx.num_threads, E / std::max<int64_t>(kGraphGrain, 2 * U))));
    const std::vector<int64_t> rows = row_splits(ip, V, nt);
    std::vector<int64_t> cursor(static_cast<size_t>(nt) * static_cast<size_t>(U), 0);
    auto count = [&](int64_t b) {
      int64_t* c = cursor.data() + b * U;
      for (int64_t k = ip[rows[b]], k1 = ip[rows[b + 1]]; k < k1; ++k) ++c[ix[k]];
    };
    auto fill = [&](int64_t b) {
      int64_t* c = cursor.data() + b * U;
      for (int64_t v = rows[b]; v < rows[b + 1]; ++v)
        for (int64_t k = ip[v], k1 = ip[v + 1]; k < k1; ++k) {
          const int64_t pos = c[ix[k]]++;
          ti[pos * tis] = static_cast<I>(v);
          te[pos * tes] = static_cast<I>(k);
        }
    };
    parallel_for(nt, 1, nt, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) count(b);
    });
    int64_t run = 0;
    for (int64_t u = 0; u < U; ++u) {
      tp[u * tps] = static_cast<I>(run);
      for (int64_t b = 0; b < nt; ++b) {
        int64_t& c = cursor[b * U + u];
        const int64_t n = c;
        c = run;
        run += n;
      }
    }
    tp[U * tps] = static_cast<I>(run);
    parallel_for(nt, 1, nt, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) fill(b);
    });
  });
}

void gspmm_forward(const kn_gspmm_params& p, const kn_tensor& indptr, const kn_tensor& indices,
                   const kn_tensor* edge_values, const kn_tensor& x, const kn_tensor& y,
                   const kn_tensor* arg, const CpuContext& ctx) {
  const int64_t V = indptr.shape[0] - 1, F = x.shape[1];
  if (V == 0 || F == 0) return;
  dispatch_float(x.dtype, "kn_gspmm_forward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indptr.dtype, "kn_gspmm_forward", [&](auto itag) {
      using I = decltype(itag);
      FwdArgs<T, I> a{};
      a.ip = idx<I>(indptr), a.ix = idx<I>(indices);
      if (edge_values && p.message == KN_GSPMM_U_MUL_E)
        a.w = data_as<const T>(*edge_values), a.ws = edge_values->strides[0];
      a.x = data_as<const T>(x), a.xs0 = x.strides[0], a.xs1 = x.strides[1];
      a.y = data_as<T>(y), a.ys0 = y.strides[0], a.ys1 = y.strides[1];
      if (arg) {
        a.arg = arg->data, a.as0 = arg->strides[0], a.as1 = arg->strides[1];
        a.arg64 = arg->dtype == KN_INT64;
      }
      a.mean = p.reduce == KN_GSPMM_MEAN;
      a.F = F;
      for_rows(a.ip, V, F, ctx.num_threads, [&](int64_t v0, int64_t v1) {
        switch (p.reduce) {
          case KN_GSPMM_MAX: forward_range<kMax>(a, v0, v1); break;
          case KN_GSPMM_MIN: forward_range<kMin>(a, v0, v1); break;
          default: forward_range<kSum>(a, v0, v1); break;
        }
      });
    });
  });
}

void gspmm_backward(const kn_gspmm_params& p, const kn_tensor& dy, const kn_tensor& indptr,
                    const kn_tensor& indices, const kn_tensor* t_indptr, const kn_tensor* t_indices,
                    const kn_tensor* t_edge_ids, const kn_tensor* edge_values, const kn_tensor* x,
                    const kn_tensor* arg, const kn_tensor* dx, const kn_tensor* dedge,
                    const CpuContext& ctx) {
  const int64_t V = indptr.shape[0] - 1, F = dy.shape[1];
  const bool arg_red = p.reduce == KN_GSPMM_MAX || p.reduce == KN_GSPMM_MIN;
  const bool mean = p.reduce == KN_GSPMM_MEAN;
  dispatch_float(dy.dtype, "kn_gspmm_backward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indptr.dtype, "kn_gspmm_backward", [&](auto itag) {
      using I = decltype(itag);
      // arg's own index dtype (int64 when there is none: unused).
      const int32_t adtype = arg ? arg->dtype : KN_INT64;
      dispatch_index(adtype, "kn_gspmm_backward", [&](auto atag) {
        using A = decltype(atag);
        const A* ap = arg ? data_as<const A>(*arg) : nullptr;
        const int64_t as0 = arg ? arg->strides[0] : 0, as1 = arg ? arg->strides[1] : 0;
        if (dx && numel(*dx) > 0) {
          DxArgs<T, I, A> a{};
          a.ip = idx<I>(indptr), a.tp = idx<I>(*t_indptr), a.ti = idx<I>(*t_indices),
          a.te = idx<I>(*t_edge_ids);
          if (edge_values && p.message == KN_GSPMM_U_MUL_E)
            a.w = data_as<const T>(*edge_values), a.ws = edge_values->strides[0];
          a.dy = data_as<const T>(dy), a.dys0 = dy.strides[0], a.dys1 = dy.strides[1];
          a.arg = ap, a.as0 = as0, a.as1 = as1;
          a.dx = data_as<T>(*dx), a.dxs0 = dx->strides[0], a.dxs1 = dx->strides[1];
          a.mean = mean, a.F = F;
          const bool unit = dy.strides[1] == 1 && dx->strides[1] == 1 && (!arg_red || as1 == 1);
          const int64_t U = dx->shape[0];
          for_rows(a.tp, U, F, ctx.num_threads, [&](int64_t u0, int64_t u1) {
            if (arg_red)
              unit ? dx_rows<true, true>(a, u0, u1) : dx_rows<true, false>(a, u0, u1);
            else
              unit ? dx_rows<false, true>(a, u0, u1) : dx_rows<false, false>(a, u0, u1);
          });
        }
        if (dedge && numel(*dedge) > 0) {
          DeArgs<T, I, A> a{};
          a.ip = idx<I>(indptr), a.ix = idx<I>(indices);
          a.dy = data_as<const T>(dy), a.dys0 = dy.strides[0], a.dys1 = dy.strides[1];
          a.x = data_as<const T>(*x), a.xs0 = x->strides[0], a.xs1 = x->strides[1];
          a.arg = ap, a.as0 = as0, a.as1 = as1;
          a.de = data_as<T>(*dedge), a.des = dedge->strides[0];
          a.mean = mean, a.F = F;
          const bool unit = dy.strides[1] == 1 && x->strides[1] == 1 && (!arg_red || as1 == 1);
          for_rows(a.ip, V, F, ctx.num_threads, [&](int64_t v0, int64_t v1) {
            if (arg_red)
              unit ? dedge_rows<true, true>(a, v0, v1) : dedge_rows<true, false>(a, v0, v1);
            else
              unit ? dedge_rows<false, true>(a, v0, v1) : dedge_rows<false, false>(a, v0, v1);
          });
        }
      });
    });
  });
}

}  // namespace kn::cpu
