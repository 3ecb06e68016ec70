#include "kernels/internal/blas.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/internal/error.hpp"

namespace kn {
namespace blas {
namespace {

// CBLAS enum values (cblas.h); we resolve the symbols at run time instead of
// linking, so that the core type can be chosen before OpenBLAS initialises.
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

using sgemm_fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                          int, float, float*, int);
using dgemm_fn = void (*)(int, int, int, int, int, int, double, const double*, int,
                          const double*, int, double, double*, int);
using set_threads_fn = void (*)(int);
using string_fn = char* (*)();

struct OpenBlas {
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  set_threads_fn set_num_threads = nullptr;
  std::string info;   // one-line description, or the load error
  bool ok = false;
  std::atomic<int> threads{-1};  // last value given to set_num_threads
};

// The OpenBLAS core type for this CPU, or nullptr to let OpenBLAS decide.
const char* preferred_coretype() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  // libgcc's checks include the OS having enabled the AVX/AVX-512 state.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

// Candidates in order of preference. The OpenMP build of OpenBLAS comes
// first: it runs on the same OpenMP thread pool as our own loops. With the
// pthread build, OpenMP workers still spinning after one of our parallel
// loops compete with OpenBLAS's own threads for the cores, which made Linear
// forward+backward on 2 threads 2x slower than with the OpenMP build
// (docs/abi.md, "OpenBLAS").
std::vector<std::string> candidates() {
  std::vector<std::string> names;
  if (const char* path = std::getenv("KN_OPENBLAS_LIBRARY")) names.emplace_back(path);
#ifdef KN_MULTIARCH_LIBDIR
  names.emplace_back(KN_MULTIARCH_LIBDIR "/openblas-openmp/libopenblas.so.0");
#endif
  names.emplace_back("libopenblas.so.0");
  names.emplace_back("libopenblas.so");
  return names;
}

// "openmp", "pthreads" or "serial", from openblas_get_parallel().
const char* threading_model(void* handle) {
  auto get_parallel = reinterpret_cast<int (*)()>(dlsym(handle, "openblas_get_parallel"));
  if (!get_parallel) return "unknown";
  switch (get_parallel()) {
    case 0: return "serial";
    case 1: return "pthreads";
    case 2: return "openmp";
    default: return "unknown";
  }
}

void load(OpenBlas& lib) {
  const std::vector<std::string> names = candidates();

  void* handle = nullptr;
  std::string how;
  // Already in the process (loaded by someone else)? Then it has initialised
  // with whatever core type it chose; we can only report it.
  for (const auto& name : names)
    if ((handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD))) {
      how = "already loaded by the process";
      break;
    }
  if (!handle) {
    const char* user_core = std::getenv("OPENBLAS_CORETYPE");
    const char* core = user_core ? nullptr : preferred_coretype();
    if (user_core) how = std::string("OPENBLAS_CORETYPE=") + user_core + " set by the user";
    if (core) {
      // Only for OpenBLAS's constructor; restored right after.
      setenv("OPENBLAS_CORETYPE", core, 0);
      how = std::string("core type ") + core + " chosen by libkernels from CPUID";
    }
    std::string errors;
    for (const auto& name : names) {
      if ((handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
      const char* e = dlerror();
      errors += "; " + std::string(e ? e : name);
    }
    if (core) unsetenv("OPENBLAS_CORETYPE");
    if (!handle) {
      lib.info = "OpenBLAS could not be loaded (install libopenblas0, e.g. apt-get install "
                 "libopenblas-dev, or set KN_OPENBLAS_LIBRARY to its path)" + errors;
      return;
    }
  }
  lib.sgemm = reinterpret_cast<sgemm_fn>(dlsym(handle, "cblas_sgemm"));
  lib.dgemm = reinterpret_cast<dgemm_fn>(dlsym(handle, "cblas_dgemm"));
  lib.set_num_threads = reinterpret_cast<set_threads_fn>(dlsym(handle, "openblas_set_num_threads"));
  auto corename = reinterpret_cast<string_fn>(dlsym(handle, "openblas_get_corename"));
  auto config = reinterpret_cast<string_fn>(dlsym(handle, "openblas_get_config"));
  if (!lib.sgemm || !lib.dgemm) {
    lib.info = "the loaded BLAS has no cblas_sgemm/cblas_dgemm";
    return;
  }
  lib.info = std::string(config ? config() : "OpenBLAS") + "; core=" +
             (corename ? corename() : "?") + (how.empty() ? "" : " (" + how + ")") +
             "; threads=" + threading_model(handle);
  lib.ok = true;
}

OpenBlas& openblas() {
  static OpenBlas lib;
  static std::once_flag once;
  std::call_once(once, [] { load(lib); });
  if (!lib.ok) fail(KN_ERR_BACKEND, "BLAS: ", lib.info);
  return lib;
}

void set_threads(OpenBlas& lib, int threads) {
  if (lib.set_num_threads && lib.threads.exchange(threads) != threads)
    lib.set_num_threads(threads);
}

// The OpenMP build of OpenBLAS takes its thread count from the calling
// thread's OpenMP default (omp_get_max_threads) on every call, and
// openblas_set_num_threads sets that default too. The default belongs to the
// caller (torch reads it as torch.get_num_threads()): set it for one GEMM and
// restore it afterwards, so a kernel call never changes the caller's threads.
class CallerOmpThreads {
 public:
  explicit CallerOmpThreads(int threads) {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    if (saved_ != threads) omp_set_num_threads(threads);
#else
    (void)threads;
#endif
  }
  ~CallerOmpThreads() {
#ifdef _OPENMP
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
#endif
  }
  CallerOmpThreads(const CallerOmpThreads&) = delete;
  CallerOmpThreads& operator=(const CallerOmpThreads&) = delete;

 private:
  int saved_ = 1;
};

// How one operand is handed to CBLAS (row-major): NoTrans or Trans with a
// leading dimension, pointing into the caller's memory or into `packed`.
template <typename T>
struct BlasOperand {
  const T* data;
  int trans;
  int64_t ld;
  std::vector<T> packed;
};

// v as row-major storage with leading dimension ld, if its strides allow.
// Strides of size-1 dims never matter and are ignored.
template <typename T>
bool row_major(const MatrixView<T>& v, int64_t& ld) {
  if (v.cols > 1 && v.col_stride != 1) return false;
  ld = v.rows > 1 ? v.row_stride : std::max<int64_t>(1, v.cols);
  return ld >= std::max<int64_t>(1, v.cols);
}

template <typename T>
void pack(const MatrixView<const T>& v, std::vector<T>& out) {
  out.resize(static_cast<size_t>(v.rows * v.cols));
  for (int64_t r = 0; r < v.rows; ++r)
    for (int64_t c = 0; c < v.cols; ++c) out[r * v.cols + c] = v.at(r, c);
}

template <typename T>
void prepare(const MatrixView<const T>& v, BlasOperand<T>& op) {
  int64_t ld;
  if (row_major(v, ld)) {
    op = {v.data, kNoTrans, ld, {}};
  } else if (row_major(v.t(), ld)) {
    op = {v.data, kTrans, ld, {}};
  } else {
    pack(v, op.packed);
    op.data = op.packed.data();
    op.trans = kNoTrans;
    op.ld = std::max<int64_t>(1, v.cols);
  }
}

void check_int(int64_t v, const char* what) {
  if (v > INT_MAX)
    fail(KN_ERR_UNSUPPORTED, "BLAS: ", what, " = ", v, " exceeds the 32-bit BLAS interface");
}

template <typename T>
void call(OpenBlas& lib, int ta, int tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  check_int(m, "M"), check_int(n, "N"), check_int(k, "K");
  check_int(lda, "lda"), check_int(ldb, "ldb"), check_int(ldc, "ldc");
  if constexpr (sizeof(T) == 4)
    lib.sgemm(kRowMajor, ta, tb, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
  else
    lib.dgemm(kRowMajor, ta, tb, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
}

}  // namespace

template <typename T>
void openblas_gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
                   int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M == 0 || N == 0) return;
  check_int(M, "M"), check_int(N, "N"), check_int(K, "K");  // before any packing
  if (K == 0) {  // BLAS implementations disagree on K == 0; define it here.
    for (int64_t r = 0; r < M; ++r)
      for (int64_t col = 0; col < N; ++col) c.at(r, col) = beta == T(0) ? T(0) : beta * c.at(r, col);
    return;
  }
  OpenBlas& lib = openblas();
  const CallerOmpThreads keep_callers_default(std::max(1, threads));
  set_threads(lib, std::max(1, threads));

  int64_t ldc;
  if (row_major(c, ldc) || row_major(c.t(), ldc)) {
    const bool transposed_c = !row_major(c, ldc);
    if (transposed_c) {  // c^T = b^T a^T, with c^T row-major
      row_major(c.t(), ldc);
      std::swap(a, b);
      a = a.t(), b = b.t();
    }
    BlasOperand<T> A, B;
    prepare(a, A), prepare(b, B);
    const int64_t m = transposed_c ? N : M, n = transposed_c ? M : N;
    call<T>(lib, A.trans, B.trans, m, n, K, alpha, A.data, A.ld, B.data, B.ld, beta, c.data, ldc);
    return;
  }
  // c has no BLAS layout (e.g. both strides > 1): compute into a packed
  // row-major copy, then scatter back.
  std::vector<T> packed_c(static_cast<size_t>(M * N));
  if (beta != T(0))
    for (int64_t r = 0; r < M; ++r)
      for (int64_t col = 0; col < N; ++col) packed_c[r * N + col] = c.at(r, col);
  openblas_gemm<T>(a, b, MatrixView<T>{packed_c.data(), M, N, N, 1}, alpha, beta, threads);
  for (int64_t r = 0; r < M; ++r)
    for (int64_t col = 0; col < N; ++col) c.at(r, col) = packed_c[r * N + col];
}

template <typename T>
void gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
          int threads) {
  openblas_gemm<T>(a, b, c, alpha, beta, threads);
}

template void openblas_gemm<float>(MatrixView<const float>, MatrixView<const float>,
                                   MatrixView<float>, float, float, int);
template void openblas_gemm<double>(MatrixView<const double>, MatrixView<const double>,
                                    MatrixView<double>, double, double, int);
template void gemm<float>(MatrixView<const float>, MatrixView<const float>, MatrixView<float>,
                          float, float, int);
template void gemm<double>(MatrixView<const double>, MatrixView<const double>,
                           MatrixView<double>, double, double, int);

const char* info() { return openblas().info.c_str(); }

}  // namespace blas
}  // namespace kn
