// Rows along one dim, for ops that reduce over a dim (softmax, log_softmax,
// the class-index losses). A "row" is the 1-D slice along `dim` with every
// other index fixed; the rows are enumerated through the shared strided
// machinery (strided.hpp) applied to views with `dim` removed and strides in
// BYTES, so operands of different dtypes (float data, int class targets)
// share one iteration order, on the CPU (for_each_row) and on CUDA
// (StridedIndexer over the same layout).
//
// (Written for softmax and losses; could be shared by any op that reduces
// along one dim.)
#pragma once

#include <array>
#include <cstdint>

#include "kernels/internal/row_prefetch.hpp"
#include "kernels/internal/strided.hpp"
#include "kernels/internal/tensor.hpp"
#include "kernels/internal/threading.hpp"

namespace kn {

// t without dim `drop` (drop < 0: all dims kept), strides in bytes.
inline kn_tensor byte_row_view(const kn_tensor& t, int drop) {
  kn_tensor v = t;
  const int64_t esz = static_cast<int64_t>(dtype_size(t.dtype));
  v.ndim = 0;
  for (int d = 0; d < t.ndim; ++d) {
    if (d == drop) continue;
    v.shape[v.ndim] = t.shape[d];
    v.strides[v.ndim] = t.strides[d] * esz;
    ++v.ndim;
  }
  return v;
}

// The layout of the rows of N operands: views[k] = byte_row_view(...), all of
// one shape (the rows' shape). Offsets it yields are in bytes.
template <size_t N>
StridedLayout<N> row_layout(const std::array<kn_tensor, N>& views) {
  std::array<const kn_tensor*, N> ptrs;
  for (size_t k = 0; k < N; ++k) ptrs[k] = &views[k];
  return make_layout(ptrs);
}

// Calls row(ptrs) for every row, ptrs[k] = the row's first byte in operand k,
// parallel over rows (each row is handled by one thread, so per-row results
// do not depend on the thread count). `row_len` sets the grain. prefetch[k]: bytes of
// operand k's NEXT row prefetched before each row runs (row_prefetch.hpp; 0 = none).
template <size_t N, typename Row>
void parallel_dim_rows(const std::array<kn_tensor, N>& views, const std::array<void*, N>& data,
                       int64_t row_len, int threads, Row&& row,
                       const std::array<int64_t, N>& prefetch = {}) {
  const StridedLayout<N> L = row_layout(views);
  if (L.numel == 0) return;
  std::array<char*, N> base;
  for (size_t k = 0; k < N; ++k) base[k] = static_cast<char*>(data[k]);
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, row_len));
  parallel_for(L.numel, grain, threads, [&](int64_t begin, int64_t end) {
    for_each_row(L, base, begin, end,
                 [&](int64_t n, const std::array<char*, N>& p, const std::array<int64_t, N>& s) {
                   std::array<char*, N> at;
                   for (int64_t j = 0; j < n; ++j) {
                     for (size_t k = 0; k < N; ++k) {
                       at[k] = p[k] + j * s[k];
                       if (prefetch[k] > 0 && j + 1 < n) prefetch_row(at[k] + s[k], prefetch[k]);
                     }
                     row(at);
                   }
                 });
  });
}

}  // namespace kn
