#include "kernels/internal/threading.hpp"

#include <atomic>

namespace kn {
namespace {
std::atomic<int> g_default_threads{0};  // 0 = OpenMP's default
}

void set_default_num_threads(int n) { g_default_threads.store(n > 0 ? n : 0); }

int default_num_threads() {
  const int n = g_default_threads.load();
  if (n > 0) return n;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace kn
