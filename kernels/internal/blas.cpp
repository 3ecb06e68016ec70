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

// Which BLAS runs the GEMMs. Both are loaded with dlopen (never linked), and
// chosen once per process, at the first GEMM (load):
//   OpenBLAS  everywhere, the default: Debian's libopenblas0-openmp.
//   MKL       on Intel CPUs when libmkl_rt can be loaded (pip's `mkl`, which
//             `make` installs into .venv, or Debian's libmkl-rt). Measured on
//             an Intel Xeon (model 167, AVX-512; 2026-12-07), GFLOP/s per
//             call on 1 / 2 threads, OpenBLAS 0.3.21 -> MKL 2026.2
//             (`KN_BLAS=openblas|mkl bench_gemm_ladder --benchmark_filter=
//             Shape`): conv2d ResNet56 w cols 113/216 -> 184/282, dy cols^T
//             118/206 -> 142/277, w^T dy 129/226 -> 155/308; ResNet28 w cols
//             148/242 -> 177/315, dw 141/276 -> 174/320; the LSTM's per-step
//             h W_hh^T 124/237 -> 161/326; Linear 32x784->128 x w^T 2 threads
//             118 -> 224 (a one-off C loop). OpenBLAS 0.3.34 (scipy-openblas32)
//             is no better than 0.3.21. That gap kept conv2d, Linear and the
//             LSTM at 1.1-1.5x torch's time there (torch runs MKL and oneDNN).
//             On AMD Zen 4 OpenBLAS already met torch's speed
//             (docs/performance.md) and MKL's fast paths are tuned for Intel,
//             so AMD keeps OpenBLAS (MKL there is not measured).
//   KN_BLAS=openblas|mkl overrides the choice (mkl: fails if it cannot load).
enum class Library { OpenBlas, Mkl };

// How calls from several of our callers' threads may share the BLAS.
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
//   mkl       MKL is thread-safe and takes a per-thread count
//             (mkl_set_num_threads_local, set around each call): no lock.
// tests/cpp/test_thread_stress.cpp checks this bit for bit.
enum class Threading { Serial, OpenMP, Pthreads, Unknown, MklLocal };

struct Blas {
  Library library = Library::OpenBlas;
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  set_threads_fn set_num_threads = nullptr;          // OpenBLAS
  int (*set_num_threads_local)(int) = nullptr;       // MKL
  std::string info;   // one-line description, or the load error
  std::string core;   // the kernels in use and who chose them (core_info)
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

// OpenBLAS candidates in order of preference. The OpenMP build of OpenBLAS
// comes first: it runs on the same OpenMP thread pool as our own loops. With
// the pthread build, OpenMP workers still spinning after one of our parallel
// loops compete with OpenBLAS's own threads for the cores, which made Linear
// forward+backward on 2 threads 2x slower than with the OpenMP build
// (docs/abi.md, "BLAS").
std::vector<std::string> openblas_candidates() {
  std::vector<std::string> names;
  if (const char* path = std::getenv("KN_OPENBLAS_LIBRARY")) names.emplace_back(path);
#ifdef KN_MULTIARCH_LIBDIR
  names.emplace_back(KN_MULTIARCH_LIBDIR "/openblas-openmp/libopenblas.so.0");
#endif
  names.emplace_back("libopenblas.so.0");
  names.emplace_back("libopenblas.so");
  return names;
}

// MKL's single dynamic library (it loads its own core, threading and ISA
// libraries from its directory). KN_MKL_LIBRARY names one explicitly; the
// Python package sets it to its environment's pip-installed MKL (pykernels/__init__.py),
// the Makefile to .venv's for the C tests and benchmarks.
std::vector<std::string> mkl_candidates() {
  std::vector<std::string> names;
  if (const char* path = std::getenv("KN_MKL_LIBRARY"); path && *path) names.emplace_back(path);
  names.emplace_back("libmkl_rt.so.3");
  names.emplace_back("libmkl_rt.so.2");
  names.emplace_back("libmkl_rt.so");
  return names;
}

bool is_intel() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_is("intel");
#else
  return false;
#endif
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
    case Threading::MklLocal: return "openmp (MKL GNU layer, per-call local count)";
  }
  return "unknown";
}

// The first of `names` that is already in the process, else the first that
// dlopen loads; nullptr with the dlopen errors appended to `errors`.
void* open_first(const std::vector<std::string>& names, bool already_loaded_only,
                 std::string& errors) {
  for (const auto& name : names) {
    if (void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL | (already_loaded_only ? RTLD_NOLOAD : 0)))
      return h;
    if (!already_loaded_only) {
      const char* e = dlerror();
      errors += "; " + std::string(e ? e : name);
    }
  }
  if (already_loaded_only) dlerror();  // clear
  return nullptr;
}

bool load_openblas(Blas& lib, std::string& errors) {
  const std::vector<std::string> names = openblas_candidates();
  std::string how;
  std::string ignored;
  // Already in the process (loaded by someone else)? Then it has initialised
  // with whatever core type it chose; we can only report it.
  void* handle = open_first(names, true, ignored);
  if (handle) {
    how = "already loaded by the process";
  } else {
    const char* user_core = std::getenv("OPENBLAS_CORETYPE");
    const char* core = user_core ? nullptr : preferred_coretype();
    if (user_core) how = std::string("OPENBLAS_CORETYPE=") + user_core + " set by the user";
    if (core) {
      // Only for OpenBLAS's constructor; restored right after.
      setenv("OPENBLAS_CORETYPE", core, 0);
      how = std::string("core type ") + core + " chosen by libkernels from CPUID";
    }
    handle = open_first(names, false, errors);
    if (core) unsetenv("OPENBLAS_CORETYPE");
    if (!handle) return false;
  }
  lib.sgemm = reinterpret_cast<sgemm_fn>(dlsym(handle, "cblas_sgemm"));
  lib.dgemm = reinterpret_cast<dgemm_fn>(dlsym(handle, "cblas_dgemm"));
  lib.set_num_threads = reinterpret_cast<set_threads_fn>(dlsym(handle, "openblas_set_num_threads"));
  auto corename = reinterpret_cast<string_fn>(dlsym(handle, "openblas_get_corename"));
  auto config = reinterpret_cast<string_fn>(dlsym(handle, "openblas_get_config"));
  if (!lib.sgemm || !lib.dgemm) {
    errors += "; the loaded OpenBLAS has no cblas_sgemm/cblas_dgemm";
    return false;
  }
  lib.library = Library::OpenBlas;
  lib.threading = threading_model(handle);
  lib.core = std::string(corename ? corename() : "?") + (how.empty() ? "" : " (" + how + ")");
  lib.info = std::string(config ? config() : "OpenBLAS") + "; core=" + lib.core +
             "; threads=" + threading_name(lib.threading);
  return true;
}

// MKL's run-time library with the GNU threading layer: its threads are
// libgomp's, the OpenMP runtime our loops (and torch's) already run on, so
// no second thread pool competes for the cores (its default, Intel's
// libiomp5, would be one). Set before MKL's first computation; a process
// that loaded MKL already keeps the layer it chose.
bool load_mkl(Blas& lib, const char* why, std::string& errors) {
  void* handle = open_first(mkl_candidates(), false, errors);
  if (!handle) return false;
  constexpr int kMklThreadingGnu = 3, kMklInterfaceLp64 = 0;  // mkl_service.h
  auto set_layer = reinterpret_cast<int (*)(int)>(dlsym(handle, "MKL_Set_Threading_Layer"));
  auto set_interface = reinterpret_cast<int (*)(int)>(dlsym(handle, "MKL_Set_Interface_Layer"));
  auto version = reinterpret_cast<void (*)(char*, int)>(dlsym(handle, "MKL_Get_Version_String"));
  lib.set_num_threads_local =
      reinterpret_cast<int (*)(int)>(dlsym(handle, "MKL_Set_Num_Threads_Local"));
  lib.sgemm = reinterpret_cast<sgemm_fn>(dlsym(handle, "cblas_sgemm"));
  lib.dgemm = reinterpret_cast<dgemm_fn>(dlsym(handle, "cblas_dgemm"));
  if (!set_layer || !set_interface || !lib.set_num_threads_local || !lib.sgemm || !lib.dgemm) {
    errors += "; the loaded libmkl_rt lacks MKL_Set_Threading_Layer, MKL_Set_Num_Threads_Local "
              "or cblas_?gemm";
    return false;
  }
  set_interface(kMklInterfaceLp64);
  const int layer = set_layer(kMklThreadingGnu);
  char v[256] = "MKL";
  if (version) version(v, sizeof v - 1);
  lib.library = Library::Mkl;
  lib.threading = Threading::MklLocal;
  lib.core = std::string("MKL (") + why + ")";
  lib.info = std::string(v) + "; core=" + lib.core + "; threads=" +
             (layer == kMklThreadingGnu ? threading_name(Threading::MklLocal)
                                        : "MKL threading layer " + std::to_string(layer) +
                                              " (chosen before libkernels loaded it)");
  return true;
}

void load(Blas& lib) {
  const char* forced = std::getenv("KN_BLAS");
  const std::string choice = forced ? forced : "";
  std::string errors;
  if (choice == "mkl") {
    if (load_mkl(lib, "KN_BLAS=mkl set by the user", errors)) lib.ok = true;
    else
      lib.info = "KN_BLAS=mkl but MKL could not be loaded (pip install mkl, or set "
                 "KN_MKL_LIBRARY to libmkl_rt.so)" + errors;
    return;
  }
  if (!choice.empty() && choice != "openblas") {
    lib.info = "KN_BLAS=" + choice + " is not a BLAS libkernels knows (openblas or mkl)";
    return;
  }
  std::string mkl_errors;
  if (choice.empty() && is_intel() && load_mkl(lib, "chosen by libkernels: Intel CPU", mkl_errors)) {
    lib.ok = true;
    return;
  }
  if (load_openblas(lib, errors)) {
    lib.ok = true;
    return;
  }
  lib.info = "OpenBLAS could not be loaded (install libopenblas0, e.g. apt-get install "
             "libopenblas-dev, or set KN_OPENBLAS_LIBRARY to its path)" + errors;
}

Blas& library() {
  static Blas lib;
  static std::once_flag once;
  std::call_once(once, [] { load(lib); });
  if (!lib.ok) fail(KN_ERR_BACKEND, "BLAS: ", lib.info);
  return lib;
}

// Holds what one GEMM of `threads` threads needs to run next to other
// callers' GEMMs (see Threading), and sets the BLAS's thread count: OpenBLAS's
// global one where the build has one, MKL's count local to the calling thread
// (restored afterwards).
class ThreadedCallLock {
 public:
  ThreadedCallLock(Blas& lib, int threads) {
    switch (lib.threading) {
      case Threading::Serial: return;
      case Threading::MklLocal:
        set_local_ = lib.set_num_threads_local;
        saved_local_ = set_local_(threads);
        return;
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
  ~ThreadedCallLock() {
    if (set_local_) set_local_(saved_local_);
  }
  ThreadedCallLock(const ThreadedCallLock&) = delete;
  ThreadedCallLock& operator=(const ThreadedCallLock&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;
  int (*set_local_)(int) = nullptr;
  int saved_local_ = 0;
};

// The OpenMP build of OpenBLAS takes its thread count from the calling
// thread's OpenMP default (omp_get_max_threads) on every call, and
// openblas_set_num_threads sets that default too. The default belongs to the
// caller (torch reads it as torch.get_num_threads()): set it for one GEMM and
// restore it afterwards, so a kernel call never changes the caller's threads.
// (MKL's local count leaves the default alone: `active` false.)
class CallerOmpThreads {
 public:
  CallerOmpThreads(int threads, bool active) {
#ifdef _OPENMP
    if (!active) return;
    active_ = true;
    saved_ = omp_get_max_threads();
    if (saved_ != threads) omp_set_num_threads(threads);
#else
    (void)threads, (void)active;
#endif
  }
  ~CallerOmpThreads() {
#ifdef _OPENMP
    if (active_ && omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
#endif
  }
  CallerOmpThreads(const CallerOmpThreads&) = delete;
  CallerOmpThreads& operator=(const CallerOmpThreads&) = delete;

 private:
  bool active_ = false;
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
void call(Blas& lib, int ta, int tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
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
void library_gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
                  int threads) {
  const int64_t M = c.rows, N = c.cols, K = a.cols;
  if (M == 0 || N == 0) return;
  check_int(M, "M"), check_int(N, "N"), check_int(K, "K");  // before any packing
  if (K == 0) {  // BLAS implementations disagree on K == 0; define it here.
    for (int64_t r = 0; r < M; ++r)
      for (int64_t col = 0; col < N; ++col) c.at(r, col) = beta == T(0) ? T(0) : beta * c.at(r, col);
    return;
  }
  Blas& lib = library();
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
    const CallerOmpThreads keep_callers_default(std::max(1, threads),
                                                lib.library == Library::OpenBlas);
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
  library_gemm<T>(a, b, MatrixView<T>{packed_c.data(), M, N, N, 1}, alpha, beta, threads);
  for (int64_t r = 0; r < M; ++r)
    for (int64_t col = 0; col < N; ++col) c.at(r, col) = packed_c[r * N + col];
}

// Which float32 products go to the library's own kernel (the GEMM ladder's
// packed / dot-product kernels, kernels/internal/gemm_ladder.cpp) instead of
// the BLAS library. Measured against each library; first OpenBLAS.
// OpenBLAS 0.3.21's SkylakeX sgemm has two paths: "small matrix"
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
// MKL 2026.2 is faster than the ladder on all but two kinds of product
// (same tool, `bench_gemm_ladder --benchmark_filter=Shape` with MKL loaded,
// 2026-12-07, Intel Xeon model 167; ladder / MKL, 1 thread and 2 threads):
//   M1  A B^T with a small C (M*N <= 2^12) and K >= 512 (dw of a conv or
//       Linear with few outputs): 6x25x4704 1.11 / 2.24, 16x150x800 1.09 /
//       1.07. MKL splits these badly across threads.
//   M2  R4's shapes on 2 or more threads: 128x784x32 1.05, 150x800x16 1.15
//       (on one thread 0.88-0.93: MKL).
//   Everything else MKL: R1's 16x800x150 0.79, R2's 32x128x784 0.78-0.89,
//   64x120x400 0.77, the squares 0.89-0.94.
// Decided on C's row-major orientation (a column-major C is C^T = B^T A^T,
// as both kernels compute it). Correct for any shape and strides either way;
// only the speed depends on this rule.
namespace {
bool ladder_is_faster(MatrixView<const float> a, MatrixView<const float> b,
                      MatrixView<float> c, int threads, bool mkl) {
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
  const bool r4 = b_rows && K <= 32 && M >= 64 && M * N >= (1 << 16) && M * N <= (1 << 20);
  if (mkl)
    return (a_rows && b_cols && M * N <= (1 << 12) && K >= 512) ||  // M1
           (r4 && threads >= 2);                                    // M2
  if (b_rows && M <= 64 && mnk > double(1 << 20) && b.row_stride % 256 != 0) return true;  // R1
  if (a_rows && b_cols && M <= 64 && ((M >= 16 && N >= 128) || (M >= 32 && M < 64 && N >= 64)))
    return true;  // R2
  if (a_rows && b_cols && M < 16 && N >= 512 && K >= 256) return true;  // R3
  if (r4) return true;  // R4
  return false;
}
}  // namespace

template <typename T>
void gemm(MatrixView<const T> a, MatrixView<const T> b, MatrixView<T> c, T alpha, T beta,
          int threads) {
  if constexpr (std::is_same_v<T, float>) {
    int runs_on = threads;  // a GEMM inside one of our parallel regions runs on one thread
#ifdef _OPENMP
    if (omp_in_parallel()) runs_on = 1;
#endif
    if (c.rows > 0 && c.cols > 0 && a.cols > 0 && gemm_ladder::uses_avx512() &&
        ladder_is_faster(a, b, c, runs_on, uses_mkl())) {
      gemm_ladder::packed_gemm(a, b, c, alpha, beta, std::max(1, threads));
      return;
    }
  }
  library_gemm<T>(a, b, c, alpha, beta, threads);
}

template void library_gemm<float>(MatrixView<const float>, MatrixView<const float>,
                                  MatrixView<float>, float, float, int);
template void library_gemm<double>(MatrixView<const double>, MatrixView<const double>,
                                   MatrixView<double>, double, double, int);
template void gemm<float>(MatrixView<const float>, MatrixView<const float>, MatrixView<float>,
                          float, float, int);
template void gemm<double>(MatrixView<const double>, MatrixView<const double>,
                           MatrixView<double>, double, double, int);

const char* info() { return library().info.c_str(); }

const char* core_info() { return library().core.c_str(); }

bool uses_mkl() { return library().library == Library::Mkl; }

int reproducible_threads(int threads) { return uses_mkl() ? 1 : threads; }

}  // namespace blas
}  // namespace kn
