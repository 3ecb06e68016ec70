// Embedding on the CPU. Shapes: weight, dweight (V, D); indices (*) with N positions,
// int32 or int64; y, dy (*, D). i below is a position of indices in row-major order.
//
//   forward:  y[i, :] = weight[indices[i], :]
//   backward: dweight[v, :] = sum over i with indices[i] == v of dy[i, :], in increasing i,
//             divided by that count when scale_grad_by_freq; 0 for rows no index names and
//             for padding_idx (whose positions contribute nothing)
//   renorm:   for each distinct v in indices: n = ||weight[v, :]||_p (p = norm_type, inf =
//             max |x|); if n > max_norm, weight[v, :] *= max_norm / (n + 1e-7)  (torch's
//             embedding_renorm_)
//
// Every index is checked against [0, V) first; the first bad position (row-major) is
// reported as KN_ERR_INVALID_ARGUMENT before anything is written.
//
// Backward without atomics: a counting sort of the positions by index (stable, so each
// row's contributions stay in position order) gives a CSR list of dy row offsets per
// dweight row; then each thread owns whole dweight rows (split by cost: contributions +
// rows), writes 0 + the first dy row, adds the others in order and divides by the count.
// So every row is computed by the same code in the same order whatever the thread count:
// the result is bitwise independent of it. float32 accumulates in float (as torch's
// index_add_ does, in the same order: torch's CPU result for the same call is bitwise
// equal without scale_grad_by_freq); float64 in double. Cost: O(N + V) for the sort
// (serial; V <= numel(dweight) / D), O(N D) adds, O(V D) writes.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/error.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/internal/threading.hpp"
#include "kernels/ops/embedding.hpp"

namespace kn::cpu {
namespace {

// The positions of indices (k = indices.ndim dims, row-major) with, for each, the element
// offsets into indices and into a second operand whose first k dims have indices' shape
// (y or dy: the offset of the position's row).
struct Positions {
  int k = 0;
  int64_t n = 0;  // number of positions
  int64_t shape[KN_MAX_DIMS] = {};
  int64_t si[KN_MAX_DIMS] = {};  // indices' strides
  int64_t so[KN_MAX_DIMS] = {};  // the other operand's strides (its first k dims), or 0
};

Positions positions(const kn_tensor& indices, const kn_tensor* other) {
  Positions P;
  P.k = indices.ndim;
  P.n = numel(indices);
  for (int d = 0; d < P.k; ++d) {
    P.shape[d] = indices.shape[d];
    P.si[d] = indices.strides[d];
    P.so[d] = other ? other->strides[d] : 0;
  }
  return P;
}

// fn(i, offset in indices, offset in the other operand) for positions [begin, end).
template <typename Fn>
void for_positions(const Positions& P, int64_t begin, int64_t end, Fn&& fn) {
  if (begin >= end) return;
  int64_t at[KN_MAX_DIMS] = {};
  int64_t oi = 0, oo = 0, rest = begin;
  for (int d = P.k - 1; d >= 0; --d) {
    at[d] = rest % P.shape[d];
    rest /= P.shape[d];
    oi += at[d] * P.si[d];
    oo += at[d] * P.so[d];
  }
  for (int64_t i = begin; i < end; ++i) {
    fn(i, oi, oo);
    for (int d = P.k - 1; d >= 0; --d) {  // next position: odometer, last dim fastest
      oi += P.si[d];
      oo += P.so[d];
      if (++at[d] < P.shape[d]) break;
      oi -= P.shape[d] * P.si[d];
      oo -= P.shape[d] * P.so[d];
      at[d] = 0;
    }
  }
}

// "indices[3, 1]" for position i of a tensor of this shape ("indices (0-d)" for a scalar).
std::string position_name(const int64_t* shape, int k, int64_t i) {
  if (k == 0) return "indices (0-d)";
  std::vector<int64_t> at(static_cast<size_t>(k));
  for (int d = k - 1; d >= 0; --d) {
    at[d] = i % shape[d];
    i /= shape[d];
  }
  std::string s = "indices[";
  for (int d = 0; d < k; ++d) s += (d ? ", " : "") + std::to_string(at[d]);
  return s + "]";
}

// Throws KN_ERR_INVALID_ARGUMENT naming the first position (row-major) whose index is
// outside [0, V). Dims of stride 0 (a broadcast view) are walked once: along them every
// position reads the same element, and the first bad position has index 0 there.
template <typename I>
void check_indices(const char* op, const kn_tensor& indices, int64_t V, const char* table,
                   int threads) {
  kn_tensor once = indices;
  for (int d = 0; d < once.ndim; ++d)
    if (once.strides[d] == 0) once.shape[d] = std::min<int64_t>(once.shape[d], 1);
  const Positions P = positions(once, nullptr);
  const I* base = data_as<const I>(indices);
  std::atomic<int64_t> first{std::numeric_limits<int64_t>::max()};
  parallel_for(P.n, kElementwiseGrain, threads, [&](int64_t b, int64_t e) {
    bool found = false;
    for_positions(P, b, e, [&](int64_t i, int64_t oi, int64_t) {
      const int64_t v = static_cast<int64_t>(base[oi]);
      if (found || (v >= 0 && v < V)) return;
      found = true;
      int64_t cur = first.load();
      while (i < cur && !first.compare_exchange_weak(cur, i)) {
      }
    });
  });
  const int64_t bad = first.load();
  if (bad == std::numeric_limits<int64_t>::max()) return;
  int64_t off = 0;
  for_positions(P, bad, bad + 1, [&](int64_t, int64_t oi, int64_t) { off = oi; });
  fail(KN_ERR_INVALID_ARGUMENT, op, ": ", position_name(once.shape, once.ndim, bad), " = ",
       static_cast<int64_t>(base[off]), " is out of range for ", table, " with ", V, " rows");
}

// The unit-stride row loops (AVX-512/AVX2/baseline clones). dst never overlaps src
// (validated: outputs do not overlap inputs).
template <typename T>
KN_SIMD_CLONES void row_first(int64_t n, const T* __restrict src, T* __restrict dst) {
  // 0 + dy, as torch's zeros + index_add_ (a -0 contribution gives +0).
  for (int64_t j = 0; j < n; ++j) dst[j] = T(0) + src[j];
}
template <typename T>
KN_SIMD_CLONES void row_add(int64_t n, const T* __restrict src, T* __restrict dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
}
template <typename T>
KN_SIMD_CLONES void row_div(int64_t n, T count, T* dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] /= count;
}

// Work (elements) per thread below which splitting does not pay.
constexpr int64_t kRowGrain = kElementwiseGrain;

// nt + 1 row boundaries splitting [0, V) into ranges of about equal cost(r) = start[r] + r
// (contributions plus rows written), by binary search on that increasing function.
std::vector<int64_t> row_splits(const std::vector<int64_t>& start, int64_t V, int nt) {
  std::vector<int64_t> s(static_cast<size_t>(nt) + 1, V);
  s[0] = 0;
  const int64_t total = start[V] + V;
  for (int t = 1; t < nt; ++t) {
    const int64_t target = static_cast<int64_t>(static_cast<double>(total) * t / nt);
    int64_t lo = s[t - 1], hi = V;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (start[mid] + mid < target)
        lo = mid + 1;
      else
        hi = mid;
    }
    s[t] = lo;
  }
  return s;
}

// ||row||_p in double (T's values are exact in double): p = inf is max |x| (NaN if any
// is NaN, as torch's), 1 and 2 without pow.
template <typename T>
double row_norm(const T* row, int64_t n, int64_t stride, double p) {
  double acc = 0;
  if (std::isinf(p)) {
    for (int64_t j = 0; j < n; ++j) {
      const double a = std::fabs(static_cast<double>(row[j * stride]));
      if (a > acc || a != a) acc = a;
      if (acc != acc) break;
    }
    return acc;
  }
  if (p == 1.0) {
    for (int64_t j = 0; j < n; ++j) acc += std::fabs(static_cast<double>(row[j * stride]));
    return acc;
  }
  if (p == 2.0) {
    for (int64_t j = 0; j < n; ++j) {
      const double x = static_cast<double>(row[j * stride]);
      acc += x * x;
    }
    return std::sqrt(acc);
  }
  for (int64_t j = 0; j < n; ++j) acc += std::pow(std::fabs(static_cast<double>(row[j * stride])), p);
  return std::pow(acc, 1.0 / p);
}

}  // namespace

void embedding_forward(const kn_tensor& weight, const kn_tensor& indices, const kn_tensor& y,
                       const CpuContext& ctx) {
  const char* op = "kn_embedding_forward";
  const int64_t V = weight.shape[0], D = weight.shape[1];
  dispatch_index(indices.dtype, op, [&](auto itag) {
    using I = decltype(itag);
    check_indices<I>(op, indices, V, "weight", ctx.num_threads);
    if (numel(y) == 0) return;
    dispatch_float(weight.dtype, op, [&](auto tag) {
      using T = decltype(tag);
      const Positions P = positions(indices, &y);
      const I* ib = data_as<const I>(indices);
      const T* w = data_as<const T>(weight);
      T* yb = data_as<T>(y);
      const int64_t ws0 = weight.strides[0], ws1 = weight.strides[1], ys1 = y.strides[indices.ndim];
      const bool unit = ws1 == 1 && ys1 == 1;
      parallel_for(P.n, std::max<int64_t>(1, kRowGrain / D), ctx.num_threads,
                   [&](int64_t b, int64_t e) {
                     for_positions(P, b, e, [&](int64_t, int64_t oi, int64_t oy) {
                       const T* src = w + static_cast<int64_t>(ib[oi]) * ws0;
                       T* dst = yb + oy;
                       if (unit) {
                         std::memcpy(dst, src, static_cast<size_t>(D) * sizeof(T));
                       } else {
                         for (int64_t j = 0; j < D; ++j) dst[j * ys1] = src[j * ws1];
                       }
                     });
                   });
    });
  });
}

void embedding_backward(const kn_embedding_params& p, const kn_tensor& dy, const kn_tensor& indices,
                        const kn_tensor& dweight, const CpuContext& ctx) {
  const char* op = "kn_embedding_backward";
  const int64_t V = dweight.shape[0], D = dweight.shape[1];
  dispatch_index(indices.dtype, op, [&](auto itag) {
    using I = decltype(itag);
    check_indices<I>(op, indices, V, "dweight", ctx.num_threads);
    if (numel(dweight) == 0) return;  // (V > 0 here, so D == 0: nothing to write)
    dispatch_float(dweight.dtype, op, [&](auto tag) {
      using T = decltype(tag);
      const Positions P = positions(indices, &dy);
      const int64_t N = P.n, pad = p.padding_idx;
      const I* ib = data_as<const I>(indices);
      // 1. Counting sort of the positions by index (padding_idx's dropped): rows[start[v]
      //    .. start[v + 1]) = the dy row offsets of row v's positions, in position order.
      std::vector<int64_t> idx(static_cast<size_t>(N)), off(static_cast<size_t>(N));
      std::vector<int64_t> start(static_cast<size_t>(V) + 1, 0);
      for_positions(P, 0, N, [&](int64_t i, int64_t oi, int64_t oy) {
        idx[i] = static_cast<int64_t>(ib[oi]);
        off[i] = oy;
      });
      for (int64_t i = 0; i < N; ++i)
        if (idx[i] != pad) ++start[idx[i] + 1];
      for (int64_t v = 1; v <= V; ++v) start[v] += start[v - 1];
      std::vector<int64_t> rows(static_cast<size_t>(start[V]));
      for (int64_t i = 0; i < N; ++i)
        if (idx[i] != pad) rows[start[idx[i]]++] = off[i];
      for (int64_t v = V; v > 0; --v) start[v] = start[v - 1];  // back to the row starts
      start[0] = 0;

      // 2. Each thread writes whole rows of dweight.
      const T* g = data_as<const T>(dy);
      T* dw = data_as<T>(dweight);
      const int64_t gs1 = dy.strides[indices.ndim], ws0 = dweight.strides[0], ws1 = dweight.strides[1];
      const bool unit = gs1 == 1 && ws1 == 1;
      const bool scale = p.scale_grad_by_freq != 0;
      auto write_rows = [&](int64_t r0, int64_t r1) {
        for (int64_t v = r0; v < r1; ++v) {
          T* dst = dw + v * ws0;
          const int64_t k0 = start[v], k1 = start[v + 1];
          if (k0 == k1) {
            if (ws1 == 1)
              std::memset(dst, 0, static_cast<size_t>(D) * sizeof(T));
            else
              for (int64_t j = 0; j < D; ++j) dst[j * ws1] = T(0);
            continue;
          }
          const T count = static_cast<T>(k1 - k0);
          if (unit) {
            row_first<T>(D, g + rows[k0], dst);
            for (int64_t k = k0 + 1; k < k1; ++k) row_add<T>(D, g + rows[k], dst);
            if (scale && k1 - k0 > 1) row_div<T>(D, count, dst);
          } else {
            for (int64_t j = 0; j < D; ++j) dst[j * ws1] = T(0) + g[rows[k0] + j * gs1];
            for (int64_t k = k0 + 1; k < k1; ++k)
              for (int64_t j = 0; j < D; ++j) dst[j * ws1] += g[rows[k] + j * gs1];
            if (scale && k1 - k0 > 1)
              for (int64_t j = 0; j < D; ++j) dst[j * ws1] /= count;
          }
        }
      };
      const int64_t work = (start[V] + V) * D;
      const int nt = static_cast<int>(
          std::max<int64_t>(1, std::min<int64_t>(ctx.num_threads, work / kRowGrain)));
      if (nt == 1) {
        write_rows(0, V);
        return;
      }
      const std::vector<int64_t> s = row_splits(start, V, nt);
      parallel_for(nt, 1, nt, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
          if (s[b] < s[b + 1]) write_rows(s[b], s[b + 1]);
      });
    });
  });
}

void embedding_renorm(double max_norm, double norm_type, const kn_tensor& weight,
                      const kn_tensor& indices, const CpuContext& ctx) {
  const char* op = "kn_embedding_renorm";
  const int64_t V = weight.shape[0], D = weight.shape[1];
  dispatch_index(indices.dtype, op, [&](auto itag) {
    using I = decltype(itag);
    check_indices<I>(op, indices, V, "weight", ctx.num_threads);
    if (numel(weight) == 0) return;
    dispatch_float(weight.dtype, op, [&](auto tag) {
      using T = decltype(tag);
      // The distinct rows, each renormalised once (by one thread: rows are disjoint).
      const Positions P = positions(indices, nullptr);
      const I* ib = data_as<const I>(indices);
      std::vector<int64_t> rows(static_cast<size_t>(P.n));
      for_positions(P, 0, P.n, [&](int64_t i, int64_t oi, int64_t) {
        rows[i] = static_cast<int64_t>(ib[oi]);
      });
      std::sort(rows.begin(), rows.end());
      rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
      T* w = data_as<T>(weight);
      const int64_t ws0 = weight.strides[0], ws1 = weight.strides[1];
      parallel_for(static_cast<int64_t>(rows.size()), std::max<int64_t>(1, kRowGrain / D),
                   ctx.num_threads, [&](int64_t b, int64_t e) {
                     for (int64_t r = b; r < e; ++r) {
                       T* row = w + rows[r] * ws0;
                       const double norm = row_norm(row, D, ws1, norm_type);
                       if (!(norm > max_norm)) continue;  // NaN: unchanged, as torch
                       // torch multiplies by the double scale converted to T.
                       const T s = static_cast<T>(max_norm / (norm + 1e-7));
                       for (int64_t j = 0; j < D; ++j) row[j * ws1] *= s;
                     }
                   });
    });
  });
}

}  // namespace kn::cpu
