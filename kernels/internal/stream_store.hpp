// The store policy of the element-wise kernels, written once: large
// unit-stride outputs are written with non-temporal (streaming) stores.
//
// A plain store to a line that is not in cache first reads the line (write
// allocate), so an output written once costs its bytes twice in DRAM traffic
// and evicts useful data. When an output is far larger than the last-level
// cache (it cannot be read back from cache anyway), a streaming store writes
// the line directly. Measured on the 2-core Zen 4 CI machine at 16M float32:
// 1 thread, relu forward 25 -> 29 GB/s, leaky_relu forward 20 -> 27
// (benchmarks/bench_elementwise.cpp). Backwards with two input streams and the
// compute-bound kernels measured slower or no faster, so each kernel opts in:
// relu and leaky_relu forward, mse_loss backward.
//
// But not on a fresh output. A large buffer just allocated (torch.empty,
// np.empty: glibc maps it anew) has no pages yet; the kernel's first store to
// each page faults, the OS zeroes the page through the cache, and plain stores
// then hit those cached lines, while streaming stores must first evict them:
// relu forward 16M into fresh outputs was 1.68x torch's time on an Intel Xeon
// with streaming stores. So the policy also asks the OS whether the output's
// pages are resident (mincore on its first, middle and last page: three
// syscalls, ~1 us, only for outputs of >= kStreamMinBytes) and streams only
// into memory that is already there (a reused buffer, an in-place call).
//
// Usage (per call, then per unit-stride row of the output):
//   const bool stream = stream_output(out.data, numel * sizeof(T));  // the policy
//   streamed_row(n, out, stream, [&](int64_t i, int64_t m, T* dst) {
//     // compute out[i .. i+m) into dst[0 .. m)  (reading in[i ..] etc.)
//   });
// With stream == false (small outputs: they stay cache-resident for the next
// layer) this is kernel(0, n, out): no overhead. Otherwise the row is cut into
// a head up to the first 64-byte boundary of `out` (written in place), chunks
// of kStreamChunk bytes computed into an L1-resident buffer and copied out
// with streaming stores, and a tail written in place. A chunk's inputs are read
// before its outputs are written, so in-place calls (out == in) work.
// The values are those the kernel computes: bit-identical to plain stores,
// provided the kernel's result for an element does not depend on where a
// range starts (true of every kernel using it: no FMA contraction that
// differs between a vector body and a scalar remainder).
// streamed_row ends with a store fence (streaming stores are weakly ordered);
// the OpenMP join orders them for the caller as well.
//
// The streaming copy uses 16-byte SSE2 stores (baseline x86-64: no runtime
// dispatch needed; write-combining merges them into full lines); other
// architectures get plain stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define KN_HAVE_STREAM_STORES 1
#else
#define KN_HAVE_STREAM_STORES 0
#endif

namespace kn {

// Outputs of at least this many bytes per call are streamed (L3 is 32 MB on
// the CI machine, shared; 8 MB keeps mid-size activations cache-resident).
constexpr int64_t kStreamMinBytes = int64_t(8) << 20;
// Bytes per streamed chunk (a multiple of 64; the buffer stays in L1).
constexpr int64_t kStreamChunk = 4096;

// Are the sampled pages of [data, data + bytes) resident: the first, the
// middle and the last? A page mincore cannot answer for (not mapped: the end
// of a strided view's span may lie past its allocation) does not count; with
// no answer at all (not Linux) the memory counts as resident.
inline bool pages_resident(const void* data, int64_t bytes) {
#if defined(__linux__)
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(data);
  const uintptr_t samples[3] = {first, first + static_cast<uintptr_t>(bytes / 2),
                                first + static_cast<uintptr_t>(bytes - 1)};
  for (uintptr_t a : samples) {
    unsigned char in_core = 0;
    if (mincore(reinterpret_cast<void*>(a & ~(page - 1)), page, &in_core) == 0 && !(in_core & 1))
      return false;
  }
#else
  (void)data, (void)bytes;
#endif
  return true;
}

// The policy: stream an output of `bytes` bytes at `data`, written once per
// call? Large, and its pages already resident (see the top of this file).
inline bool stream_output(const void* data, int64_t bytes) {
  return KN_HAVE_STREAM_STORES && bytes >= kStreamMinBytes && pages_resident(data, bytes);
}

// Copies `bytes` bytes from src to dst, streaming the 16-byte aligned part of
// dst (head and tail: plain stores); any alignment, any length.
inline void stream_copy(void* dst, const void* src, int64_t bytes) {
#if KN_HAVE_STREAM_STORES
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  int64_t head = static_cast<int64_t>((16 - (reinterpret_cast<uintptr_t>(d) & 15)) & 15);
  if (head > bytes) head = bytes;
  if (head) std::memcpy(d, s, static_cast<size_t>(head));
  int64_t i = head;
  if ((reinterpret_cast<uintptr_t>(s + i) & 15) == 0) {
    for (; i + 16 <= bytes; i += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm_load_si128(reinterpret_cast<const __m128i*>(s + i)));
  } else {
    for (; i + 16 <= bytes; i += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
  }
  if (i < bytes) std::memcpy(d + i, s + i, static_cast<size_t>(bytes - i));
#else
  std::memcpy(dst, src, static_cast<size_t>(bytes));
#endif
}

// Orders this thread's streaming stores before its later stores.
inline void stream_fence() {
#if KN_HAVE_STREAM_STORES
  _mm_sfence();
#endif
}

// Elements of a row before `out` reaches a 64-byte boundary (n if never).
template <typename T>
inline int64_t stream_head(const T* out, int64_t n) {
  const auto addr = reinterpret_cast<uintptr_t>(out);
  if (addr % sizeof(T) != 0) return n;  // misaligned elements: no streaming
  const int64_t head = static_cast<int64_t>(((64 - (addr & 63)) & 63) / sizeof(T));
  return head < n ? head : n;
}

// See the top of this file. kernel(i, m, dst): compute elements [i, i+m) of
// the row into dst[0, m) (dst is out + i, or an aligned scratch buffer).
template <typename T, typename Kernel>
inline void streamed_row(int64_t n, T* out, bool stream, Kernel&& kernel) {
  constexpr int64_t kChunk = kStreamChunk / static_cast<int64_t>(sizeof(T));
  if (!stream || n < 2 * kChunk) {
    kernel(int64_t{0}, n, out);
    return;
  }
  const int64_t head = stream_head(out, n);
  if (head > 0) kernel(int64_t{0}, head, out);
  alignas(64) T buf[kChunk];
  int64_t i = head;
  for (; i + kChunk <= n; i += kChunk) {
    kernel(i, kChunk, buf);
    stream_copy(out + i, buf, kStreamChunk);
  }
  if (i < n) kernel(i, n - i, out + i);
  stream_fence();
}

}  // namespace kn
