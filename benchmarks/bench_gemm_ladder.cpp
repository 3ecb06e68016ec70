// The GEMM ladder (kernels/internal/gemm_ladder.hpp), step by step, against
// the BLAS library; then the training shapes, among them the small/skinny
// ones where kn::blas::gemm picks the ladder's packed kernel instead of the
// BLAS (the rule in blas.cpp). KN_BLAS=openblas / KN_BLAS=mkl picks the
// library (docs/abi.md, "BLAS"): run it once with each to compare them.
//
//   cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DKN_BUILD_BENCHMARKS=ON ...
//   cmake --build build/dev --target bench_gemm_ladder
//   build/dev/benchmarks/bench_gemm_ladder --benchmark_min_time=0.2 --benchmark_repetitions=3
//     (about 6 minutes on the 2-core machine; the tables come at the end)
//   build/dev/benchmarks/bench_gemm_ladder --benchmark_filter=Ladder   (square sizes only)
//   build/dev/benchmarks/bench_gemm_ladder --benchmark_filter=Shape    (training shapes only)
//
// Square C[n,n] = A[n,n] B[n,n], n = 256, 512, 1024, 2048, one thread (and
// two threads for the threaded step and the BLAS). The naive step runs one
// iteration at 1024 and is skipped at 2048 (0.6 GFLOP/s at 1024 and falling:
// about a minute per call); reordered and blocked run one iteration at 2048.
// After the Google Benchmark output, summary tables print for each case the
// best wall-time GFLOP/s of any call, and "cpu": flops of all calls / the
// calling thread's CPU seconds for them (the best over repetitions), which
// approximates the speed on an unloaded machine when other processes share
// the cores (the machine is shared and noisy): time during which our thread
// was descheduled does not count. (A best-of over single calls of CPU time
// is not usable: the thread CPU clock of this VM is coarse for 10 us calls.) With two threads it assumes the
// other thread keeps pace with the calling one (both kernels split the work
// evenly; the process CPU clock is no better: it lags for the other thread).
// On an idle machine wall and cpu agree.
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/internal/blas.hpp"
#include "kernels/internal/gemm_ladder.hpp"

namespace {

namespace gl = kn::gemm_ladder;

struct Step {
  const char* name;
  int threads;
  void (*run)(int64_t M, int64_t N, int64_t K, bool ta, bool tb, const float* A, int64_t lda,
              const float* B, int64_t ldb, float* C, int64_t ldc, int threads);
};

#define KN_STEP(fn)                                                                        \
  [](int64_t M, int64_t N, int64_t K, bool ta, bool tb, const float* A, int64_t lda,       \
     const float* B, int64_t ldb, float* C, int64_t ldc, int) {                           \
    gl::fn(ta, tb, M, N, K, 1.f, A, lda, B, ldb, 0.f, C, ldc);                              \
  }
#define KN_STEP_T(fn)                                                                      \
  [](int64_t M, int64_t N, int64_t K, bool ta, bool tb, const float* A, int64_t lda,       \
     const float* B, int64_t ldb, float* C, int64_t ldc, int t) {                         \
    gl::fn(ta, tb, M, N, K, 1.f, A, lda, B, ldb, 0.f, C, ldc, t);                           \
  }

// kn::blas::gemm, the library's entry (the BLAS library or the ladder, by shape).
void library_gemm(int64_t M, int64_t N, int64_t K, bool ta, bool tb, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float* C, int64_t ldc, int t) {
  const kn::MatrixView<const float> a = ta ? kn::MatrixView<const float>{A, M, K, 1, lda}
                                           : kn::MatrixView<const float>{A, M, K, lda, 1};
  const kn::MatrixView<const float> b = tb ? kn::MatrixView<const float>{B, K, N, 1, ldb}
                                           : kn::MatrixView<const float>{B, K, N, ldb, 1};
  kn::blas::gemm<float>(a, b, kn::MatrixView<float>{C, M, N, ldc, 1}, 1.f, 0.f, t);
}

const Step kSteps[] = {
    {"1 naive", 1, KN_STEP(naive)},
    {"2 reordered", 1, KN_STEP(reordered)},
    {"3 blocked", 1, KN_STEP(blocked)},
    {"4 packed", 1, KN_STEP(packed)},
    {"5 threaded", 2, KN_STEP_T(packed_threaded)},
    {"6 BLAS library", 1, KN_STEP_T(vendor_blas)},
    {"6 BLAS library", 2, KN_STEP_T(vendor_blas)},
    {"kn::blas::gemm", 1, library_gemm},
    {"kn::blas::gemm", 2, library_gemm},
};
constexpr int kLadderSteps = 7;  // the first 7 rows of kSteps are the ladder table

std::vector<float> random_vector(int64_t n, unsigned seed) {
  std::vector<float> v(static_cast<size_t>(n));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (float& x : v) x = dist(rng);
  return v;
}

// Best GFLOP/s per (case, step index): wall-time and CPU-time based.
struct Best {
  double wall = 0, cpu = 0;
};
std::map<std::string, std::map<int, Best>> g_best;

double seconds(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

void run_case(benchmark::State& state, const std::string& key, int step, int64_t M, int64_t N,
              int64_t K, bool ta, bool tb) {
  const Step& s = kSteps[step];
  const std::vector<float> A = random_vector(M * K, 1), B = random_vector(K * N, 2);
  std::vector<float> C(static_cast<size_t>(M * N));
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  s.run(M, N, K, ta, tb, A.data(), lda, B.data(), ldb, C.data(), N, s.threads);  // warm up
  const clockid_t cpu_clock = CLOCK_THREAD_CPUTIME_ID;
  double best_wall = 1e30, total_cpu = 0;
  int64_t calls = 0;
  for (auto _ : state) {
    const double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(cpu_clock);
    s.run(M, N, K, ta, tb, A.data(), lda, B.data(), ldb, C.data(), N, s.threads);
    benchmark::ClobberMemory();
    const double c1 = seconds(cpu_clock), w1 = seconds(CLOCK_MONOTONIC);
    best_wall = std::min(best_wall, w1 - w0);
    total_cpu += c1 - c0, ++calls;
  }
  const double flops = 2.0 * double(M) * double(N) * double(K);
  state.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  Best& b = g_best[key][step];  // best single call
  b.wall = std::max(b.wall, flops / best_wall * 1e-9);
  b.cpu = std::max(b.cpu, flops * double(calls) / std::max(total_cpu, 1e-9) * 1e-9);
}

void BM_Ladder(benchmark::State& state) {
  const int step = int(state.range(0));
  const int64_t n = state.range(1);
  char key[32];
  std::snprintf(key, sizeof key, "%5lld", static_cast<long long>(n));
  run_case(state, key, step, n, n, n, false, false);
}

// Training shapes: {M, N, K, trans_a, trans_b}.
struct Shape {
  int64_t M, N, K;
  bool ta, tb;
  const char* what;
};
const Shape kShapes[] = {
    {32, 128, 784, false, true, "MLP fc1 fwd  x w^T"},
    {32, 784, 128, false, false, "MLP fc1 dx   dy w"},
    {128, 784, 32, true, false, "MLP fc1 dw   dy^T x"},
    {32, 64, 128, false, true, "MLP fc2 fwd"},
    {32, 128, 64, false, false, "MLP fc2 dx"},
    {64, 128, 32, true, false, "MLP fc2 dw"},
    {64, 120, 400, false, true, "LeNet fc1 fwd (batch 64)"},
    {64, 400, 120, false, false, "LeNet fc1 dx"},
    {120, 400, 64, true, false, "LeNet fc1 dw"},
    {6, 4704, 25, false, false, "LeNet conv1 fwd  w cols"},
    {25, 4704, 6, true, false, "LeNet conv1 dcols  w^T dy"},
    {6, 25, 4704, false, true, "LeNet conv1 dw   dy cols^T"},
    {16, 800, 150, false, false, "LeNet conv2 fwd"},
    {150, 800, 16, true, false, "LeNet conv2 dcols"},
    {16, 150, 800, false, true, "LeNet conv2 dw"},
    // char_gpt (examples/char_gpt.py): 32 x 128 tokens, 128 wide; c_attn 128 -> 384, mlp 128 -> 512 -> 128.
    {4096, 384, 128, false, true, "GPT c_attn fwd  x w^T"},
    {4096, 128, 384, false, false, "GPT c_attn dx   dy w"},
    {384, 128, 4096, true, false, "GPT c_attn dw   dy^T x"},
    {4096, 128, 512, false, true, "GPT mlp proj fwd"},
    {4096, 512, 128, false, false, "GPT mlp proj dx"},
    {128, 512, 4096, true, false, "GPT mlp proj dw"},
    // conv2d ResNet 3x3 (make bench), per image: 64x56x56 and 128x28x28, 3x3, same channels.
    {64, 3136, 576, false, false, "ResNet56 conv fwd  w cols"},
    {64, 576, 3136, false, true, "ResNet56 conv dw   dy cols^T"},
    {576, 3136, 64, true, false, "ResNet56 conv dcols w^T dy"},
    {128, 784, 1152, false, false, "ResNet28 conv fwd"},
    {128, 1152, 784, false, true, "ResNet28 conv dw"},
    {1152, 784, 128, true, false, "ResNet28 conv dcols"},
    // lstm (make bench): T32 N64 128->256; the input product once, h W_hh^T per step.
    {2048, 1024, 128, false, true, "LSTM x W_ih^T"},
    {64, 1024, 256, false, true, "LSTM h W_hh^T (per step)"},
    {256, 256, 256, false, false, "square 256"},
    {512, 512, 512, false, false, "square 512"},
    {1024, 1024, 1024, false, false, "square 1024"},
};

std::string shape_key(const Shape& s) {
  char key[96];
  std::snprintf(key, sizeof key, "%4lldx%4lldx%4lld %c%c %-27s", static_cast<long long>(s.M),
                static_cast<long long>(s.N), static_cast<long long>(s.K), s.ta ? 'T' : 'N',
                s.tb ? 'T' : 'N', s.what);
  return key;
}

// Arg 0: shape index; arg 1: step index (3 = packed 1T, 4 = threaded 2T, 5/6 = BLAS 1T/2T,
// 7/8 = kn::blas::gemm 1T/2T).
void BM_Shape(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  run_case(state, "shape " + shape_key(s), int(state.range(1)), s.M, s.N, s.K, s.ta, s.tb);
}

void register_all() {
  for (int64_t n : {256, 512, 1024, 2048})
    for (int step = 0; step < kLadderSteps; ++step) {
      if (step == 0 && n > 1024) continue;  // naive at 2048: ~20 s per call
      auto* b = benchmark::RegisterBenchmark(
          (std::string("BM_Ladder/") + kSteps[step].name + "/" + std::to_string(n) + "/threads:" +
           std::to_string(kSteps[step].threads)).c_str(),
          BM_Ladder);
      b->Args({step, n})->UseRealTime()->Unit(benchmark::kMillisecond);
      if ((step == 0 && n >= 1024) || (step < 3 && n >= 2048)) b->Iterations(1);
    }
  for (int64_t i = 0; i < int64_t(sizeof kShapes / sizeof kShapes[0]); ++i)
    for (int step : {3, 5, 7, 4, 6, 8})
      benchmark::RegisterBenchmark((std::string("BM_Shape/") + std::to_string(i) + "/" +
                                    kSteps[step].name + "/threads:" +
                                    std::to_string(kSteps[step].threads)).c_str(),
                                   BM_Shape)
          ->Args({i, step})
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
}

void print_tables() {
  bool header = false;
  for (auto& [key, steps] : g_best) {
    if (key.rfind("shape", 0) == 0) continue;
    if (!header) {
      std::printf("\nGEMM ladder, best GFLOP/s per call (%s micro-kernel; %s)\n"
                  "wall: from wall time; cpu: from CPU time (see the top of this file)\n",
                  gl::micro_kernel_name(), kn::blas::info());
      std::printf("%-14s %3s %5s %8s %8s %7s %7s %8s %8s\n", "step", "thr", "n", "wall", "cpu",
                  "x prev", "x naive", "%BLAS", "%BLAS");
      std::printf("%-14s %3s %5s %8s %8s %7s %7s %8s %8s\n", "", "", "", "GFLOP/s", "GFLOP/s",
                  "(cpu)", "(cpu)", "(wall)", "(cpu)");
      header = true;
    }
    const double naive = steps.count(0) ? steps[0].cpu : 0;
    double prev = 0;
    for (int step = 0; step < kLadderSteps; ++step) {
      if (!steps.count(step)) continue;
      const Best g = steps[step];
      const int t = kSteps[step].threads, blas_step = t == 1 ? 5 : 6;
      const Best blas = steps.count(blas_step) ? steps[blas_step] : Best{};
      char xp[16] = "-", xn[16] = "-";
      if (prev > 0) std::snprintf(xp, sizeof xp, "%.2f", g.cpu / prev);
      if (naive > 0) std::snprintf(xn, sizeof xn, "%.0f", g.cpu / naive);
      std::printf("%-14s %3d %5s %8.1f %8.1f %7s %7s %7.0f%% %7.0f%%\n", kSteps[step].name, t,
                  key.c_str(), g.wall, g.cpu, xp, xn, blas.wall > 0 ? 100 * g.wall / blas.wall : 0,
                  blas.cpu > 0 ? 100 * g.cpu / blas.cpu : 0);
      prev = g.cpu;
    }
  }
  header = false;
  for (auto& [key, steps] : g_best) {
    if (key.rfind("shape", 0) != 0) continue;
    if (!header) {
      std::printf("\nTraining shapes, best GFLOP/s per call, cpu (wall): MxNxK, op(A)op(B); packed ="
                  " ladder step 4/5, gemm = kn::blas::gemm (rule in blas.cpp)\n%-49s %13s %13s %5s"
                  " %13s | %13s %13s %5s %13s\n",
                  "shape", "BLAS 1T", "packed 1T", "ratio", "gemm 1T", "BLAS 2T", "thr'd 2T",
                  "ratio", "gemm 2T");
      header = true;
    }
    auto get = [&](int s) { return steps.count(s) ? steps[s] : Best{}; };
    auto cell = [](const Best& b) {
      static char buf[8][32];
      static int i = 0;
      char* out = buf[i++ % 8];
      std::snprintf(out, 32, "%5.1f (%5.1f)", b.cpu, b.wall);
      return out;
    };
    std::printf("%-49s %13s %13s %5.2f %13s | %13s %13s %5.2f %13s\n", key.c_str() + 6,
                cell(get(5)), cell(get(3)), get(5).cpu > 0 ? get(3).cpu / get(5).cpu : 0,
                cell(get(7)), cell(get(6)), cell(get(4)),
                get(6).cpu > 0 ? get(4).cpu / get(6).cpu : 0, cell(get(8)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_tables();
  return 0;
}
