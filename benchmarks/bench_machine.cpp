// The machine's limits, measured rather than assumed: the float32 FMA peak and
// the streaming memory bandwidth, on 1 thread and on all the CPUs this process
// may run on (N). benchmarks/bench.py runs this binary with
// --benchmark_format=json and reports each kernel's FLOP/s or bytes/s as a
// percentage of these numbers.
//
//   build/cmake/benchmarks/bench_machine [--benchmark_format=json] [--benchmark_min_time=0.2]
//
// BM_FmaPeak/<isa>/threads:T   K independent FMA chains a = a*m + c per thread,
//   all in vector registers (AVX-512: K = 16 zmm accumulators of 16 floats;
//   AVX2+FMA: K = 12 ymm of 8; enough to cover FMA latency (4-5 cycles) x
//   throughput (2 per cycle) on current x86 cores). FLOP = 2 per lane per FMA.
//   Each ISA is compiled with __attribute__((target(...))) and registered only
//   when the CPU supports it (__builtin_cpu_supports at run time), so the
//   binary runs on any x86-64. The peak is the best of the registered ISAs.
// BM_Stream<Copy|Triad>/threads:T   STREAM-like loops on float32 arrays of
//   max(128 MB, 4 x L3) each (at most 512 MB), far larger than the caches, each thread on its
//   own contiguous slice (first-touched by that thread):
//     copy   a[i] = b[i]             8 bytes per element (STREAM convention:
//     triad  a[i] = b[i] + s c[i]   12 bytes per element  reads + writes, the
//   write-allocate read of a[] is not counted, as for the library's kernels).
//
// Threads are plain std::threads started per iteration (one iteration is
// ~20 ms of work per thread, so the start costs well under 1%).
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

int cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// Runs fn(t) on threads t = 0..n-1 and waits for them all.
void run_threads(int n, const std::function<void(int)>& fn) {
  if (n == 1) return fn(0);
  std::vector<std::thread> team;
  for (int t = 1; t < n; ++t) team.emplace_back(fn, t);
  fn(0);
  for (auto& th : team) th.join();
}

// CPU time of the calling thread, in seconds.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// ------------------------------------------------------------- FMA peak

constexpr int kChains512 = 16;
constexpr int kChains256 = 12;
constexpr int64_t kIters512 = int64_t(1) << 22;  // x 16 chains x 16 lanes x 2 = 2.1 GFLOP
constexpr int64_t kIters256 = int64_t(1) << 23;  // x 12 chains x 8 lanes x 2 = 1.6 GFLOP

__attribute__((target("avx512f"))) float fma_avx512(int64_t iters, float seed) {
  __m512 acc[kChains512];
  for (int k = 0; k < kChains512; ++k) acc[k] = _mm512_set1_ps(seed + 0.001f * float(k));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);  // stays near 1
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains512; ++k) acc[k] = _mm512_fmadd_ps(acc[k], m, c);
  }
  __m512 s = acc[0];
  for (int k = 1; k < kChains512; ++k) s = _mm512_add_ps(s, acc[k]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iters, float seed) {
  __m256 acc[kChains256];
  for (int k = 0; k < kChains256; ++k) acc[k] = _mm256_set1_ps(seed + 0.001f * float(k));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChains256; ++k) acc[k] = _mm256_fmadd_ps(acc[k], m, c);
  }
  __m256 s = acc[0];
  for (int k = 1; k < kChains256; ++k) s = _mm256_add_ps(s, acc[k]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

struct Isa {
  const char* name;
  float (*fn)(int64_t, float);
  int64_t iters;
  double flops_per_call;  // per thread
};

void BM_FmaPeak(benchmark::State& state, Isa isa) {
  const int n = int(state.range(0));
  std::vector<float> sink(size_t(n) * 16);
  const double cpu0 = thread_cpu_seconds();
  for (auto _ : state) {
    run_threads(n, [&](int t) { sink[size_t(t) * 16] += isa.fn(isa.iters, 1.0f + float(t)); });
  }
  benchmark::DoNotOptimize(sink.data());
  state.counters["FLOP/s"] =
      benchmark::Counter(isa.flops_per_call * n, benchmark::Counter::kIsIterationInvariantRate);
  // The same FLOPs over the main thread's CPU time: the rate of a core while it
  // runs, i.e. what FLOP/s would be on an idle machine (other processes
  // time-share the cores of a loaded one).
  const double cpu = thread_cpu_seconds() - cpu0;
  state.counters["FLOP/s_cpu"] = cpu > 0 ? isa.flops_per_call * n * double(state.iterations()) / cpu : 0;
  state.counters["n_threads"] = n;
  state.SetLabel(isa.name);
}

// ----------------------------------------------------------- bandwidth

size_t stream_elements() {
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  // sysconf's L3 size is unreliable in VMs (it reports 335 MB on a 32 MB part): cap at 512 MB.
  size_t bytes = std::min<size_t>(size_t(512) << 20,
                                  std::max<size_t>(size_t(128) << 20, l3 > 0 ? 4 * size_t(l3) : 0));
  return bytes / sizeof(float);
}

struct Arrays {
  std::vector<float> a, b, c;
  size_t n;
  int threads;
  Arrays(size_t n_, int threads_) : n(n_), threads(threads_) {
    // Uninitialised storage, first touched by the thread that streams it.
    a = std::vector<float>(), b = std::vector<float>(), c = std::vector<float>();
    a.reserve(n), b.reserve(n), c.reserve(n);
    a.resize(n), b.resize(n), c.resize(n);  // value-initialised: zero pages are touched here
    run_threads(threads, [&](int t) {
      auto [lo, hi] = slice(t);
      for (size_t i = lo; i < hi; ++i) a[i] = 0.f, b[i] = 1.f, c[i] = 2.f;
    });
  }
  std::pair<size_t, size_t> slice(int t) const {
    return {n * size_t(t) / size_t(threads), n * size_t(t + 1) / size_t(threads)};
  }
};

__attribute__((noinline)) void copy_kernel(float* __restrict a, const float* __restrict b, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i];
}
__attribute__((noinline)) void triad_kernel(float* __restrict a, const float* __restrict b,
                                            const float* __restrict c, float s, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

void BM_StreamCopy(benchmark::State& state) {
  const int n_threads = int(state.range(0));
  Arrays arr(stream_elements(), n_threads);
  for (auto _ : state) {
    run_threads(n_threads, [&](int t) {
      auto [lo, hi] = arr.slice(t);
      copy_kernel(arr.a.data() + lo, arr.b.data() + lo, hi - lo);
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(8 * arr.n));
  state.counters["n_threads"] = n_threads;
  state.counters["MB_per_array"] = double(arr.n * sizeof(float)) / 1e6;
}

void BM_StreamTriad(benchmark::State& state) {
  const int n_threads = int(state.range(0));
  Arrays arr(stream_elements(), n_threads);
  for (auto _ : state) {
    run_threads(n_threads, [&](int t) {
      auto [lo, hi] = arr.slice(t);
      triad_kernel(arr.a.data() + lo, arr.b.data() + lo, arr.c.data() + lo, 3.f, hi - lo);
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(12 * arr.n));
  state.counters["n_threads"] = n_threads;
  state.counters["MB_per_array"] = double(arr.n * sizeof(float)) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = cpu_count();
  std::vector<int64_t> counts{1};
  if (n > 1) counts.push_back(n);

  std::vector<Isa> isas;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    isas.push_back({"avx512f", fma_avx512, kIters512, double(kIters512) * kChains512 * 16 * 2});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    isas.push_back({"avx2", fma_avx2, kIters256, double(kIters256) * kChains256 * 8 * 2});
  for (const Isa& isa : isas) {
    auto* b = benchmark::RegisterBenchmark((std::string("BM_FmaPeak/") + isa.name).c_str(),
                                           BM_FmaPeak, isa);
    for (int64_t c : counts) b->Arg(c);
    b->ArgName("threads")->UseRealTime();
  }
  for (auto* b : {benchmark::RegisterBenchmark("BM_StreamCopy", BM_StreamCopy),
                  benchmark::RegisterBenchmark("BM_StreamTriad", BM_StreamTriad)}) {
    for (int64_t c : counts) b->Arg(c);
    b->ArgName("threads")->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
