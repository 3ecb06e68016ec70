// Google Benchmark for the memory-bound CPU kernels through the C ABI:
// activations, dropout and mse_loss on 16M float32 elements, ReLU on 1 element
// (the cost of one C call: validation, dispatch, thread start), and the LeNet-5
// ReLU and pooling layers at batch 64. Reports bytes_per_second (GB/s) and
// items_per_second (elements/s; calls/s for the 1-element rows).
//
//   build/cmake/benchmarks/bench_elementwise [--benchmark_filter=Gelu] [--benchmark_format=json]
//
// Bytes per call = what the kernel must read + write at least once (float32 = 4,
// mask = 1, int64 index = 8 bytes per element):
//   unary forward (y = f(x))                         8 per element
//   unary backward (dx = dy * f'(x or y))           12 per element
//   dropout forward (x -> y, mask)                   9 per element
//   dropout backward (dy, mask -> dx)                9 per element
//   mse_loss mean forward (input, target -> scalar)  8 per element
//   mse_loss mean backward (input, target -> dinput) 12 per element
//   max_pool2d forward   4 per input + (4 + 8) per output (y, int64 indices)
//   max_pool2d backward  (4 + 8) per output (dy, indices) + 4 per input (dx)
//   avg_pool2d forward   4 per input + 4 per output; backward the same
#include "bench_common.hpp"

namespace {

using kn_bench::Buf;
using kn_bench::check;
using kn_bench::F32;
using kn_bench::set_bytes;
using kn_bench::threads;

using Forward = kn_status (*)(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex);
using Backward = kn_status (*)(const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                               const kn_exec* ex);

constexpr int64_t kBig = int64_t(1) << 24;  // 16M elements, 64 MB per float tensor
// 256k elements (1 MB per float tensor): cache-resident at 2 threads, so the
// rate there is the kernel's compute limit (what 16M could reach if memory
// were free).
constexpr int64_t kL2 = int64_t(1) << 18;

kn_status gelu_fwd(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_gelu_forward(KN_GELU_NONE, x, y, ex);
}
kn_status gelu_bwd(const kn_tensor* dy, const kn_tensor* x, const kn_tensor* dx, const kn_exec* ex) {
  return kn_gelu_backward(KN_GELU_NONE, dy, x, dx, ex);
}
kn_status gelu_tanh_fwd(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_gelu_forward(KN_GELU_TANH, x, y, ex);
}
kn_status gelu_tanh_bwd(const kn_tensor* dy, const kn_tensor* x, const kn_tensor* dx,
                        const kn_exec* ex) {
  return kn_gelu_backward(KN_GELU_TANH, dy, x, dx, ex);
}
kn_status leaky_fwd(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn_leaky_relu_forward(0.01, x, y, ex);
}
kn_status leaky_bwd(const kn_tensor* dy, const kn_tensor* x, const kn_tensor* dx, const kn_exec* ex) {
  return kn_leaky_relu_backward(0.01, 0, dy, x, dx, ex);
}

// args: n, threads
void BM_UnaryForward(benchmark::State& state, Forward f) {
  const int64_t n = state.range(0);
  F32 x({n}), y({n});
  x.fill(-4, 4);
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(f(&x.t, &y.t, &ex));
  set_bytes(state, 8.0 * n, double(n));
}

void BM_UnaryBackward(benchmark::State& state, Backward f) {
  const int64_t n = state.range(0);
  F32 dy({n}), saved({n}), dx({n});
  saved.fill(-0.99, 0.99);  // a valid y for sigmoid (0..1 in the formula) / tanh; an x for the rest
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(f(&dy.t, &saved.t, &dx.t, &ex));
  set_bytes(state, 12.0 * n, double(n));
}

#define KN_UNARY(name, fwd, bwd)                                                               \
  BENCHMARK_CAPTURE(BM_UnaryForward, name, fwd)                                                \
      ->ArgsProduct({{kBig, kL2}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();          \
  BENCHMARK_CAPTURE(BM_UnaryBackward, name, bwd)                                               \
      ->ArgsProduct({{kBig, kL2}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime()

KN_UNARY(relu, kn_relu_forward, kn_relu_backward);
KN_UNARY(sigmoid, kn_sigmoid_forward, kn_sigmoid_backward);
KN_UNARY(tanh, kn_tanh_forward, kn_tanh_backward);
KN_UNARY(gelu, gelu_fwd, gelu_bwd);
KN_UNARY(gelu_tanh, gelu_tanh_fwd, gelu_tanh_bwd);
KN_UNARY(leaky_relu, leaky_fwd, leaky_bwd);
// One thread, and the 1-element call (items_per_second = calls per second).
BENCHMARK_CAPTURE(BM_UnaryForward, relu, kn_relu_forward)
    ->ArgsProduct({{kBig}, {1}})->ArgsProduct({{1}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();
BENCHMARK_CAPTURE(BM_UnaryBackward, relu, kn_relu_backward)
    ->ArgsProduct({{1}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();
// LeNet-5's first ReLU (64x6x28x28 = 301k elements: cache-resident).
BENCHMARK_CAPTURE(BM_UnaryForward, relu_lenet, kn_relu_forward)
    ->Args({64 * 6 * 28 * 28, 2})->ArgNames({"n", "threads"})->UseRealTime();
BENCHMARK_CAPTURE(BM_UnaryBackward, relu_lenet, kn_relu_backward)
    ->Args({64 * 6 * 28 * 28, 2})->ArgNames({"n", "threads"})->UseRealTime();

void BM_DropoutForward(benchmark::State& state) {
  const int64_t n = state.range(0);
  F32 x({n}), y({n});
  Buf<uint8_t> mask({n});
  const kn_exec ex = threads(state, 1);
  uint64_t seed = 0;
  for (auto _ : state) check(kn_dropout_forward(0.5, seed++, &x.t, &y.t, &mask.t, &ex));
  set_bytes(state, 9.0 * n, double(n));
}
BENCHMARK(BM_DropoutForward)->ArgsProduct({{kBig, kL2}, {2}})->ArgNames({"n", "threads"})->UseRealTime();

void BM_DropoutBackward(benchmark::State& state) {
  const int64_t n = state.range(0);
  F32 dy({n}), dx({n});
  Buf<uint8_t> mask({n});
  mask.fill(0, 1);
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_dropout_backward(0.5, &dy.t, &mask.t, &dx.t, &ex));
  set_bytes(state, 9.0 * n, double(n));
}
BENCHMARK(BM_DropoutBackward)->ArgsProduct({{kBig, kL2}, {2}})->ArgNames({"n", "threads"})->UseRealTime();

void BM_MseLossForward(benchmark::State& state) {
  const int64_t n = state.range(0);
  F32 a({n}), t({n}), out({});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_mse_loss_forward(KN_REDUCTION_MEAN, &a.t, &t.t, &out.t, &ex));
  set_bytes(state, 8.0 * n, double(n));
}
BENCHMARK(BM_MseLossForward)->ArgsProduct({{kBig}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();

void BM_MseLossBackward(benchmark::State& state) {
  const int64_t n = state.range(0);
  F32 dout({}), a({n}), t({n}), da({n});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state)
    check(kn_mse_loss_backward(KN_REDUCTION_MEAN, &dout.t, &a.t, &t.t, &da.t, nullptr, &ex));
  set_bytes(state, 12.0 * n, double(n));
}
BENCHMARK(BM_MseLossBackward)->ArgsProduct({{kBig, kL2}, {2}})->ArgNames({"n", "threads"})->UseRealTime();

// Pooling 2x2 stride 2 on LeNet-5's conv outputs at batch 64: args N, C, H(=W), threads.
#define KN_POOL_SHAPES                                                                         \
  Args({64, 6, 28, 2})->Args({64, 16, 10, 2})->ArgNames({"N", "C", "H", "threads"})->UseRealTime()

void BM_MaxPool2dForward(benchmark::State& state) {
  const int64_t N = state.range(0), C = state.range(1), H = state.range(2), Ho = H / 2;
  F32 x({N, C, H, H}), y({N, C, Ho, Ho});
  Buf<int64_t> idx({N, C, Ho, Ho});
  const kn_max_pool2d_params p{{2, 2}, {2, 2}, {0, 0}, {1, 1}, 0};
  const kn_exec ex = threads(state, 3);
  for (auto _ : state) check(kn_max_pool2d_forward(&p, &x.t, &y.t, &idx.t, &ex));
  set_bytes(state, 4.0 * x.numel() + 12.0 * y.numel(), double(x.numel()));
}
BENCHMARK(BM_MaxPool2dForward)->KN_POOL_SHAPES;

void BM_MaxPool2dBackward(benchmark::State& state) {
  const int64_t N = state.range(0), C = state.range(1), H = state.range(2), Ho = H / 2;
  F32 x({N, C, H, H}), y({N, C, Ho, Ho}), dy({N, C, Ho, Ho}), dx({N, C, H, H});
  Buf<int64_t> idx({N, C, Ho, Ho});
  const kn_max_pool2d_params p{{2, 2}, {2, 2}, {0, 0}, {1, 1}, 0};
  const kn_exec ex = threads(state, 3);
  check(kn_max_pool2d_forward(&p, &x.t, &y.t, &idx.t, &ex));  // real argmax indices
  for (auto _ : state) check(kn_max_pool2d_backward(&p, &dy.t, &idx.t, &dx.t, &ex));
  set_bytes(state, 12.0 * dy.numel() + 4.0 * dx.numel(), double(dx.numel()));
}
BENCHMARK(BM_MaxPool2dBackward)->KN_POOL_SHAPES;

void BM_AvgPool2dForward(benchmark::State& state) {
  const int64_t N = state.range(0), C = state.range(1), H = state.range(2), Ho = H / 2;
  F32 x({N, C, H, H}), y({N, C, Ho, Ho});
  const kn_avg_pool2d_params p{{2, 2}, {2, 2}, {0, 0}, 0, 1, 0};
  const kn_exec ex = threads(state, 3);
  for (auto _ : state) check(kn_avg_pool2d_forward(&p, &x.t, &y.t, &ex));
  set_bytes(state, 4.0 * (x.numel() + y.numel()), double(x.numel()));
}
BENCHMARK(BM_AvgPool2dForward)->KN_POOL_SHAPES;

void BM_AvgPool2dBackward(benchmark::State& state) {
  const int64_t N = state.range(0), C = state.range(1), H = state.range(2), Ho = H / 2;
  F32 dy({N, C, Ho, Ho}), dx({N, C, H, H});
  const kn_avg_pool2d_params p{{2, 2}, {2, 2}, {0, 0}, 0, 1, 0};
  const kn_exec ex = threads(state, 3);
  for (auto _ : state) check(kn_avg_pool2d_backward(&p, &dy.t, &dx.t, &ex));
  set_bytes(state, 4.0 * (dx.numel() + dy.numel()), double(dx.numel()));
}
BENCHMARK(BM_AvgPool2dBackward)->KN_POOL_SHAPES;

}  // namespace

BENCHMARK_MAIN();
