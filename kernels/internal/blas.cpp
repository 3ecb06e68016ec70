#include "kernels/internal/blas.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/internal/error.hpp"
#include "kernels/internal/gemm_ladder.hpp"

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

// How calls from several of our callers' threads may share OpenBLAS.
//
// OpenBLAS keeps its thread count and its per-thread work buffers in process
// globals. In the OpenMP build, a call whose caller's OpenMP default
// (omp_get_max_threads) differs from the global count resets the count and
// frees or allocates the buffers of the other threads (goto_set_num_threads),
// under the feet of a threaded GEMM running on another of our callers'
// threads: whole blocks of its C came back zeroed or wrong with KN_OK
// (issue 10, F2: 13-19 of 160 large calls). A call with a thread default of
// 1 (or inside a parallel region) returns from that check at once and runs
// on the calling thread alone, touching no global, so:
//   openmp    threaded calls (threads > 1) hold `threaded_calls`; calls on
//             one thread run concurrently without it;
//   pthreads  the thread count is one global that openblas_set_num_threads
//   unknown   sets: every call holds the lock while it sets the count and
//             runs;
//   serial    no threads, no global state: no lock.
// tests/cpp/test_thread_stress.cpp checks this bit for bit.
enum class Threading { Serial, OpenMP, Pthreads, Unknown };

struct OpenBlas {
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  set_threads_fn set_num_threads = nullptr;
  std::string info;   // one-line description, or the load error
  std::string core;   // the core type in use and who chose it (core_info)
  bool ok = false;
  Threading threading = Threading::Unknown;
  std::mutex threaded_calls;  // see Threading
  int threads = -1;           // last value given to set_num_threads (under the lock)
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

// From openblas_get_parallel().
Threading threading_model(void* handle) {
  auto get_parallel = reinterpret_cast<int (*)()>(dlsym(handle, "openblas_get_parallel"));
  if (!get_parallel) return Threading::Unknown;
  switch (get_parallel()) {
    case 0: return Threading::Serial;
    case 1: return Threading::Pthreads;
    case 2: return Threading::OpenMP;
    default: return Threading::Unknown;
  }
}

const char* threading_name(Threading t) {
  switch (t) {
    case Threading::Serial: return "serial";
    case Threading::OpenMP: return "openmp";
    case Threading::Pthreads: return "pthreads";
    case Threading::Unknown: return "unknown";
  }
  return "unknown";
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
  lib.threading = threading_model(handle);
  lib.core = std::string(corename ? corename() : "?") + (how.empty() ? "" : " (" + how + ")");
  lib.info = std::string(config ? config() : "OpenBLAS") + "; core=" + lib.core +
             "; threads=" + threading_name(lib.threading);
  lib.ok = true;
}

OpenBlas& openblas() {
  static OpenBlas lib;
  static std::once_flag once;
  std::call_once(once, [] { load(lib); });
  if (!lib.ok) fail(KN_ERR_BACKEND, "BLAS: ", lib.info);
  return lib;
}

// Holds what one GEMM of `threads` threads needs to run next to other
// callers' GEMMs (see Threading), and sets OpenBLAS's global thread count
// where the build has one.
class ThreadedCallLock {
 public:
  ThreadedCallLock(OpenBlas& lib, int threads) {
    switch (lib.threading) {
      case Threading::Serial: return;
      case Threading::OpenMP:
        // The count comes from the caller's OpenMP default (CallerOmpThreads).
        if (threads > 1) lock_ = std::unique_lock<std::mutex>(lib.threaded_calls);
        return;
      case Threading::Pthreads:
      case Threading::Unknown:
        lock_ = std::unique_lock<std::mutex>(lib.threaded_calls);
        if (lib.set_num_threads && lib.threads != threads) {
          lib.set_num_threads(threads);
          lib.threads = threads;
        }
        return;
    }
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

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
#ifdef _OPENMP
  // Inside one of our parallel regions (conv2d's per-image GEMMs, ...) OpenBLAS
  // runs on the calling thread alone (see Threading above): the call is a
  // one-thread call. Passing the op's thread count on made each worker take
  // `threaded_calls`, and the workers' GEMMs ran one after another: conv2d
  // 32x128x28x28 forward at 2.26x torch's time on 2 threads, 1.22-1.26x after.
  if (omp_in_parallel()) threads = 1;
#endif

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
    const CallerOmpThreads keep_callers_default(std::max(1, threads));
    const ThreadedCallLock lock(lib, std::max(1, threads));
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

// Which float32 products go to the library's own kernel (the GEMM ladder's
// packed / dot-product kernels, kernels/internal/gemm_ladder.cpp) instead of
// OpenBLAS. OpenBLAS 0.3.21's SkylakeX sgemm has two paths: "small matrix"
// kernels without packing for M*N*K up to about 2^20, which our kernels do
// not beat on A B or A^T B, and the packed path above that, which is slow
// when C has few rows; and its A B^T packing is slower than ours. Ratios
// (ours / OpenBLAS, GFLOP/s per call, one thread, best of 100-300 calls,
// benchmarks/bench_gemm_ladder and a sweep over M in {6..128}, N in
// {32, 128, 800}, K in {16..800}) behind each case:
//   R1  B row-major (A B, A^T B), M <= 64, M*N*K > 2^20: B is read in place
//       by the micro-kernel.  6x800x256 2.3, 16x800x150 1.14, 16x128x800
//       1.2, 32x800x64 1.09, 64x128x256 1.03; below 2^20: 0.8-1.0.
//       Not for row strides that are multiples of 256 floats (see
//       kDirectBMaxRows in gemm_ladder.cpp).
//   R2  A B^T (y = x w^T), 16 <= M <= 64 and N >= 128, or 32 <= M < 64
//       and N >= 64: our 16x16 transposing pack of B.  32x128x784 1.02-1.11,
//       16x128x64 1.14, 64x800x64 1.13, 32x128x256 1.00, 32x64x128 1.06,
//       32x64x800 1.02; N = 32: 0.6-0.9; 16x64xK 0.7-1.0; 64x64xK
//       0.96-1.03; M = 128: 0.97-1.1.
//   R3  A B^T, M < 16, N >= 512, K >= 256: the dot-product kernel (for
//       M <= 8 or K >= 512; packed otherwise) against OpenBLAS's packed path
//       with few rows.  6x800x256 2.0, 6x800x800 2.4; N = 128: 0.9.
//   R4  B row-major, K <= 32, M >= 64, 2^16 <= M*N <= 2^20 (conv's
//       dcols = w^T dy, Linear's dw = dy^T x).  150x800x16
//       1.24, 128x800x16 1.15, 128x784x32 1.07; 128x128x16 0.84-0.91,
//       25x4704x6 0.84.
// And in every case N*K <= 2^22 (B within 16 MiB; larger products stay on
// OpenBLAS, which is as fast as ours there and blocks for every cache).
// Only with the ladder's AVX-512 kernels (the CPU has AVX-512F): its
// portable fallback is no match for OpenBLAS's AVX2 kernels.
// Measured with one thread; the same rule holds for two (the calls that
// matter are small enough that OpenBLAS and the ladder both stay on one
// thread, or split evenly; 2-thread timings of small calls were not
// measurable on the shared, loaded machine).
// Decided on C's row-major orientation (a column-major C is C^T = B^T A^T,
// as both kernels compute it). Correct for any shape and strides either way;
// only the speed depends on this rule.
namespace {
bool ladder_is_faster(MatrixView<const float> a, MatrixView<const float> b,
                      MatrixView<float> c) {
  if (c.col_stride != 1 && c.row_stride == 1 && c.cols > 1) {
    std::swap(a, b);
    a = a.t(), b = b.t(), c = c.t();
  }
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  const double mnk = double(M) * double(N) * double(K);
  if (double(N) * double(K) > double(1 << 22)) return false;
  const bool b_rows = b.col_stride == 1 || N == 1;  // B row-major
  const bool a_rows = a.col_stride == 1 || K == 1;  // A row-major
  const bool b_cols = b.row_stride == 1 || K == 1;  // B^T row-major
  if (b_rows && M <= 64 && mnk > double(1 << 20) && b.row_stride % 256 != 0) return true;  // R1
  if (a_rows && b_cols && M <= 64 && ((M >= 16 && N >= 128) || (M >= 32 && M < 64 && N >= 64)))
    return true;  // R2
  if (a_rows && b_cols && M < 16 && N >= 512 && K >= 256) return true;  // R3
  if (b_rows && K <= 32 && M >= 64 && M * N >= (1 << 16) && M * N <= (1 << 20)) return true;  // R4
  return false;
}
}  // namespace

template <typename T>
void gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
          int threads) {
  if constexpr (std::is_same_v<T, float>) {
    if (c.rows > 0 && c.cols > 0 && a.cols > 0 && gemm_ladder::uses_avx512() &&
        ladder_is_faster(a, b, c)) {
      gemm_ladder::packed_gemm(a, b, c, alpha, beta, std::max(1, threads));
      return;
    }
  }
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

const char* core_info() { return openblas().core.c_str(); }

}  // namespace blas
}  // namespace kn
