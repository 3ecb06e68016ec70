// The cost of one C entry on a 1-element tensor (validation, dispatch, the
// kernel, the status path): what every call from Python or C pays on top of
// the work. Google Benchmark, through the C ABI as a C user calls it.
//
//   build/<dir>/benchmarks/bench_overhead
#include <benchmark/benchmark.h>
#include <kernels/kernels.h>

namespace {

kn_tensor one(float* p) {
  kn_tensor t{};
  t.data = p, t.dtype = KN_FLOAT32, t.device_type = KN_DEVICE_CPU, t.ndim = 1;
  t.shape[0] = 1, t.strides[0] = 1;
  return t;
}

void ReluForward1(benchmark::State& state) {
  float x = -1.5f, y = 0.f;
  const kn_tensor X = one(&x), Y = one(&y);
  kn_exec ex{};
  ex.num_threads = static_cast<int32_t>(state.range(0));
  for (auto _ : state) {
    if (kn_relu_forward(&X, &Y, &ex) != KN_OK) state.SkipWithError(kn_last_error());
    benchmark::DoNotOptimize(y);
  }
}
BENCHMARK(ReluForward1)->Arg(1)->Arg(2);

void ReluBackward1(benchmark::State& state) {
  float dy = 2.f, x = 0.5f, dx = 0.f;
  const kn_tensor DY = one(&dy), X = one(&x), DX = one(&dx);
  for (auto _ : state) {
    if (kn_relu_backward(&DY, &X, &DX, nullptr) != KN_OK) state.SkipWithError(kn_last_error());
    benchmark::DoNotOptimize(dx);
  }
}
BENCHMARK(ReluBackward1);

// The error path: validation fails (shape mismatch), message formatted.
void ReluForwardError(benchmark::State& state) {
  float x = 1.f, y[2] = {};
  const kn_tensor X = one(&x);
  kn_tensor Y = one(y);
  Y.shape[0] = 2;
  for (auto _ : state) benchmark::DoNotOptimize(kn_relu_forward(&X, &Y, nullptr));
}
BENCHMARK(ReluForwardError);

}  // namespace

BENCHMARK_MAIN();
