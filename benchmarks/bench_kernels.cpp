// Google Benchmark for the CPU kernels, called through the C ABI exactly as a
// C user would. Reports GFLOP/s (GEMM-bound ops) or GB/s (element-wise).
//
//   build/cmake/benchmarks/bench_kernels [--benchmark_filter=Linear]
//   OPENBLAS_CORETYPE=Prescott build/cmake/benchmarks/bench_kernels --benchmark_filter=Sgemm
//     (the second line reproduces what Debian's OpenBLAS picks on CPUs it misdetects)
#include <benchmark/benchmark.h>
#include <kernels/kernels.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

// A contiguous float32 CPU tensor that owns its storage.
struct Buffer {
  std::vector<float> data;
  kn_tensor t{};
  Buffer(std::initializer_list<int64_t> shape, float lo = -1.f, float hi = 1.f) {
    t.dtype = KN_FLOAT32, t.device_type = KN_DEVICE_CPU, t.ndim = int32_t(shape.size());
    int64_t n = 1, d = 0;
    for (int64_t s : shape) t.shape[d++] = s, n *= s;
    for (int64_t i = t.ndim - 1, stride = 1; i >= 0; --i) t.strides[i] = stride, stride *= t.shape[i];
    data.resize(size_t(n));
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float& v : data) v = dist(rng);
    t.data = data.data();
  }
};

void check(kn_status s) {
  if (s != KN_OK) throw std::runtime_error(kn_last_error());
}

kn_exec threads(benchmark::State& state, int arg) {
  return kn_exec{nullptr, nullptr, 0, int32_t(state.range(arg)), 0};
}

// y = x w^T: an sgemm of (N x in) by (in x out).
void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffer x({n, n}), w({n, n}), y({n, n});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_linear_forward(&x.t, &w.t, nullptr, &y.t, &ex));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kn_blas_info());
}
BENCHMARK(BM_Sgemm)->ArgsProduct({{256, 1024, 2048}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();

// Linear forward + backward (dx, dw, db): N x in -> out.
void BM_LinearForwardBackward(benchmark::State& state) {
  const int64_t N = state.range(0), in = state.range(1), out = state.range(2);
  Buffer x({N, in}), w({out, in}), b({out}), y({N, out}), dy({N, out}), dx({N, in}), dw({out, in}), db({out});
  const kn_exec ex = threads(state, 3);
  for (auto _ : state) {
    check(kn_linear_forward(&x.t, &w.t, &b.t, &y.t, &ex));
    check(kn_linear_backward(&dy.t, &x.t, &w.t, &dx.t, &dw.t, &db.t, &ex));
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(3 * 2.0 * N * in * out, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LinearForwardBackward)
    ->Args({256, 1024, 1024, 2})
    ->Args({256, 1024, 1024, 1})
    ->Args({64, 784, 128, 2})  // the MLP demo's first layer
    ->ArgNames({"N", "in", "out", "threads"})
    ->UseRealTime();

// Element-wise: bytes moved per element = 4 * operands.
void BM_ReluForward(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffer x({n}), y({n});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_relu_forward(&x.t, &y.t, &ex));
  state.SetBytesProcessed(state.iterations() * n * 8);
}
BENCHMARK(BM_ReluForward)->ArgsProduct({{1, 1 << 24}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();

void BM_ReluBackward(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffer dy({n}), x({n}), dx({n});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_relu_backward(&dy.t, &x.t, &dx.t, &ex));
  state.SetBytesProcessed(state.iterations() * n * 12);
}
BENCHMARK(BM_ReluBackward)->ArgsProduct({{1 << 24}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();

void BM_MseLossMean(benchmark::State& state) {
  const int64_t n = state.range(0);
  Buffer a({n}), t({n}), out({});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_mse_loss_forward(KN_REDUCTION_MEAN, &a.t, &t.t, &out.t, &ex));
  state.SetBytesProcessed(state.iterations() * n * 8);
}
BENCHMARK(BM_MseLossMean)->ArgsProduct({{1 << 24}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
