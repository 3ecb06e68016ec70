// CPU threading, written once: every CPU kernel parallelises through
// parallel_for / parallel_reduce below (OpenMP underneath).
//
// Thread count: kn_exec.num_threads if > 0, else the library default
// (kn_set_num_threads, else OpenMP's default). Work smaller than `grain`
// elements per thread runs serially: on small tensors a fork/join costs more
// than it saves.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kn {

// The library-wide default (what num_threads = 0 means). 0 restores OpenMP's default.
void set_default_num_threads(int n);
int default_num_threads();

// requested > 0 -> requested; 0 -> default_num_threads().
inline int resolve_num_threads(int requested) {
  return requested > 0 ? requested : default_num_threads();
}

// Elements per thread below which splitting does not pay (element-wise ops).
constexpr int64_t kElementwiseGrain = 32768;

// Calls fn(begin, end) over disjoint ranges covering [0, n), on at most
// `threads` threads, each range at least `grain` long (except when n is).
// Exceptions thrown by fn are rethrown on the calling thread.
template <typename Fn>
void parallel_for(int64_t n, int64_t grain, int threads, Fn&& fn) {
  if (n <= 0) return;
  const int64_t max_by_grain = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  const int nt = static_cast<int>(std::min<int64_t>(std::max(threads, 1), max_by_grain));
#ifdef _OPENMP
  if (nt > 1 && !omp_in_parallel()) {
    std::exception_ptr error;
    std::mutex error_mutex;
#pragma omp parallel num_threads(nt)
    {
      const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
      const int64_t begin = n * t / count, end = n * (t + 1) / count;
      try {
        if (begin < end) fn(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  fn(int64_t{0}, n);
}

// Deterministic parallel sum: [0, n) is cut into fixed blocks of `block`
// elements (independent of the thread count); chunk_sum(begin, end) returns
// each block's partial sum, and the partials are added in block order. So the
// result is bit-identical for any number of threads.
template <typename Acc, typename ChunkSum>
Acc parallel_reduce_sum(int64_t n, int64_t block, int threads, ChunkSum&& chunk_sum) {
  if (n <= 0) return Acc(0);
  const int64_t blocks = (n + block - 1) / block;
  if (blocks == 1) return chunk_sum(int64_t{0}, n);
  std::vector<Acc> partial(static_cast<size_t>(blocks));
  parallel_for(blocks, 1, threads, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      partial[b] = chunk_sum(b * block, std::min(n, (b + 1) * block));
  });
  Acc total(0);
  for (const Acc& p : partial) total += p;
  return total;
}

}  // namespace kn
