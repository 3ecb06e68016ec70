// Strided iteration, written once: every element-wise CPU kernel (and every
// element-wise reduction) walks its operands through StridedLayout.
//
// N operands share one shape; each has its own element strides (any sign,
// 0 = broadcast). make_layout drops size-1 dims, orders dims so the innermost
// one has the smallest stride in operand 0 (the output, by convention), and
// merges dims that are contiguous in every operand. A contiguous tensor thus
// becomes one long row; a transposed one is walked in memory order.
//
// for_each_row then hands the kernel one innermost row at a time:
//   row(n, ptrs, steps)   n elements, ptrs[k] = first element of operand k,
//                         steps[k] = its stride along the row.
// Kernels write a fast path for `all steps == 1` (which the compiler
// vectorises) and a strided fallback.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

#include "kernels/internal/tensor.hpp"
#include "kernels/internal/threading.hpp"

namespace kn {

template <size_t N>
struct StridedLayout {
  int ndim = 0;                               // after simplification; dim 0 is innermost
  int64_t shape[KN_MAX_DIMS] = {};
  int64_t strides[N][KN_MAX_DIMS] = {};
  int64_t numel = 1;
};

// operands[k] must all have operands[0]'s shape (validated by the caller).
template <size_t N>
StridedLayout<N> make_layout(const std::array<const kn_tensor*, N>& operands) {
  const kn_tensor& first = *operands[0];
  StridedLayout<N> L;
  L.numel = numel(first);
  if (L.numel == 0) {  // nothing to visit; merging the other dims' sizes could overflow
    L.ndim = 1;
    return L;  // shape[0] = 0
  }
  // Keep the dims longer than 1 (size-1 dims contribute no offsets).
  int order[KN_MAX_DIMS];
  int kept = 0;
  for (int d = 0; d < first.ndim; ++d)
    if (first.shape[d] != 1) order[kept++] = d;
  // Innermost first: ascending |stride| of operand 0, then of the others.
  // Stable, so equal strides keep the row-major (last dim innermost) order.
  std::reverse(order, order + kept);
  std::stable_sort(order, order + kept, [&](int a, int b) {
    for (size_t k = 0; k < N; ++k) {
      const int64_t sa = std::llabs(operands[k]->strides[a]);
      const int64_t sb = std::llabs(operands[k]->strides[b]);
      if (sa != sb) return sa < sb;
    }
    return false;
  });
  // Merge dim `d` into the current outer-most merged dim when every operand
  // steps over it as if it were a continuation.
  for (int i = 0; i < kept; ++i) {
    const int d = order[i];
    if (L.ndim > 0) {
      const int last = L.ndim - 1;
      bool mergeable = true;
      for (size_t k = 0; k < N && mergeable; ++k)
        mergeable = operands[k]->strides[d] == L.strides[k][last] * L.shape[last];
      if (mergeable) {
        L.shape[last] *= first.shape[d];
        continue;
      }
    }
    L.shape[L.ndim] = first.shape[d];
    for (size_t k = 0; k < N; ++k) L.strides[k][L.ndim] = operands[k]->strides[d];
    ++L.ndim;
  }
  if (L.ndim == 0) {  // a scalar, or all dims of size 1 (or numel == 0)
    L.ndim = 1;
    L.shape[0] = L.numel == 0 ? 0 : 1;
    for (size_t k = 0; k < N; ++k) L.strides[k][0] = 0;
  }
  return L;
}

// Calls row(n, ptrs, steps) for the elements [begin, end) of the layout's
// iteration order (begin/end count elements, innermost dim fastest).
template <typename T, size_t N, typename Row>
void for_each_row(const StridedLayout<N>& L, const std::array<T*, N>& base,
                  int64_t begin, int64_t end, Row&& row) {
  if (begin >= end) return;
  int64_t index[KN_MAX_DIMS] = {};
  std::array<T*, N> ptr = base;
  std::array<int64_t, N> steps;
  int64_t rest = begin;
  for (int d = 0; d < L.ndim; ++d) {
    index[d] = rest % L.shape[d];
    rest /= L.shape[d];
  }
  for (size_t k = 0; k < N; ++k) {
    steps[k] = L.strides[k][0];
    for (int d = 0; d < L.ndim; ++d) ptr[k] += index[d] * L.strides[k][d];
  }
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(L.shape[0] - index[0], end - pos);
    row(n, ptr, steps);
    pos += n;
    if (pos >= end) break;
    // Advance to the start of the next row: rewind dim 0, carry upwards.
    for (size_t k = 0; k < N; ++k) ptr[k] -= index[0] * L.strides[k][0];
    index[0] = 0;
    for (int d = 1; d < L.ndim; ++d) {
      for (size_t k = 0; k < N; ++k) ptr[k] += L.strides[k][d];
      if (++index[d] < L.shape[d]) break;
      for (size_t k = 0; k < N; ++k) ptr[k] -= L.shape[d] * L.strides[k][d];
      index[d] = 0;
    }
  }
}

// The element-wise driver: simplify, split across threads, walk rows.
template <typename T, size_t N, typename Row>
void parallel_rows(const std::array<const kn_tensor*, N>& operands, int threads, Row&& row) {
  const StridedLayout<N> L = make_layout(operands);
  std::array<T*, N> base;
  for (size_t k = 0; k < N; ++k) base[k] = static_cast<T*>(operands[k]->data);
  parallel_for(L.numel, kElementwiseGrain, threads,
               [&](int64_t begin, int64_t end) { for_each_row(L, base, begin, end, row); });
}

// The reduction driver: sum over all elements of row_sum(n, ptrs, steps),
// deterministic for any thread count (see parallel_reduce_sum).
template <typename T, typename Acc, size_t N, typename RowSum>
Acc parallel_rows_sum(const std::array<const kn_tensor*, N>& operands, int threads,
                      RowSum&& row_sum) {
  const StridedLayout<N> L = make_layout(operands);
  std::array<T*, N> base;
  for (size_t k = 0; k < N; ++k) base[k] = static_cast<T*>(operands[k]->data);
  return parallel_reduce_sum<Acc>(L.numel, kElementwiseGrain, threads, [&](int64_t b, int64_t e) {
    Acc sum(0);
    for_each_row(L, base, b, e, [&](int64_t n, const std::array<T*, N>& p,
                                   const std::array<int64_t, N>& s) { sum += row_sum(n, p, s); });
    return sum;
  });
}

template <size_t N>
inline bool all_unit(const std::array<int64_t, N>& steps) {
  for (int64_t s : steps)
    if (s != 1) return false;
  return true;
}

}  // namespace kn
