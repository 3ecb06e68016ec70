// Software prefetch of the next row for row-at-a-time kernels that read each row
// twice and compute between the reads (softmax forward: the row's maximum, then its
// exponentials; layer_norm forward: the row's moments, then the normalised row).
//
// Why: the hardware's stream prefetchers stop at page boundaries, and such a kernel
// computes from L1 between its passes over memory, so each row that begins a new page
// waited for its first lines. Prefetching the next row's first page while this one is
// computed hid that (Intel Xeon model 167, kernel alone, ours / torch's time over 40
// interleaved runs): softmax forward 4096x1000 1.05-1.07 -> 1.00-1.03, log_softmax
// 1.04-1.07 -> 0.99-1.03; layer_norm forward 4096x1024 ~3% faster. Kernels
// that compute while they stream (the backwards) measured no gain or a loss (softmax
// backward 1.00 -> 1.05 ms prefetching dy and y; a write prefetch of dx 1.14 ms).
#pragma once

#include <cstdint>

#include "kernels/internal/tensor.hpp"

namespace kn {

// At most one page of a row: the hardware prefetchers take over within a page.
constexpr int64_t kRowPrefetchBytes = 4096;

// The bytes worth prefetching of a contiguous row of `bytes`: up to kRowPrefetchBytes.
inline int64_t row_prefetch_bytes(int64_t bytes) {
  return bytes < kRowPrefetchBytes ? bytes : kRowPrefetchBytes;
}

// The same for t's row along `dim`; 0 (none) for a strided row.
inline int64_t row_prefetch_bytes(const kn_tensor& t, int dim) {
  if (t.strides[dim] != 1) return 0;
  return row_prefetch_bytes(t.shape[dim] * static_cast<int64_t>(dtype_size(t.dtype)));
}

// Prefetches [p, p + bytes) for reading, a 64-byte line at a time.
inline void prefetch_row(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(c + b, 0, 3);
}

}  // namespace kn
