// Google Benchmark for the GEMM-bound CPU kernels (linear, conv2d), called
// through the C ABI exactly as a C user would. Reports FLOP/s.
//
//   build/cmake/benchmarks/bench_kernels [--benchmark_filter=Linear] [--benchmark_format=json]
//   OPENBLAS_CORETYPE=Prescott build/cmake/benchmarks/bench_kernels --benchmark_filter=Sgemm
//     (the second line reproduces what Debian's OpenBLAS picks on CPUs it misdetects)
//
// FLOP counts (an FMA = 2 FLOP; bias additions and reductions not counted):
//   linear   forward  2 N in out;  backward (dx and dw) 4 N in out
//   conv2d   forward  2 N O Ho Wo C kH kW (groups 1);  backward: that once for
//            dw and once for dx (LeNet conv1 takes the image: dw and db only)
// Element-wise, pooling, softmax and loss kernels: bench_elementwise.cpp,
// bench_softmax.cpp. Machine limits (FMA peak, bandwidth): bench_machine.cpp.
#include "bench_common.hpp"

namespace {

using kn_bench::check;
using kn_bench::F32;
using kn_bench::set_flops;
using kn_bench::threads;

// y = x w^T: an sgemm of (n x n) by (n x n).
void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  F32 x({n, n}), w({n, n}), y({n, n});
  const kn_exec ex = threads(state, 1);
  for (auto _ : state) check(kn_linear_forward(&x.t, &w.t, nullptr, &y.t, &ex));
  set_flops(state, 2.0 * n * n * n);
  state.SetLabel(kn_blas_info());
}
BENCHMARK(BM_Sgemm)->ArgsProduct({{1024}, {1, 2}})->ArgNames({"n", "threads"})->UseRealTime();

// The MLP demo's layers (batch 32) and a 1024-wide layer (batch 256).
#define KN_LINEAR_SHAPES                                                                   \
  ArgsProduct({{32}, {784}, {128}, {2}})                                                   \
      ->ArgsProduct({{32}, {128}, {64}, {2}})                                              \
      ->ArgsProduct({{32}, {64}, {10}, {2}})                                               \
      ->ArgsProduct({{256}, {1024}, {1024}, {1, 2}})                                       \
      ->ArgNames({"N", "in", "out", "threads"})                                            \
      ->UseRealTime()

void BM_LinearForward(benchmark::State& state) {
  const int64_t N = state.range(0), in = state.range(1), out = state.range(2);
  F32 x({N, in}), w({out, in}), b({out}), y({N, out});
  const kn_exec ex = threads(state, 3);
  for (auto _ : state) check(kn_linear_forward(&x.t, &w.t, &b.t, &y.t, &ex));
  set_flops(state, 2.0 * N * in * out);
}
BENCHMARK(BM_LinearForward)->KN_LINEAR_SHAPES;

void BM_LinearBackward(benchmark::State& state) {
  const int64_t N = state.range(0), in = state.range(1), out = state.range(2);
  F32 x({N, in}), w({out, in}), dy({N, out}), dx({N, in}), dw({out, in}), db({out});
  const kn_exec ex = threads(state, 3);
  for (auto _ : state) check(kn_linear_backward(&dy.t, &x.t, &w.t, &dx.t, &dw.t, &db.t, &ex));
  set_flops(state, 4.0 * N * in * out);
}
BENCHMARK(BM_LinearBackward)->KN_LINEAR_SHAPES;

// Convolutions, groups 1, dilation 1: args N, C, H(=W), O, k, stride, pad, need_dx, threads.
struct ConvCase {
  int64_t N, C, H, O, k, s, p;
  bool need_dx;
  int64_t Ho() const { return (H + 2 * p - k) / s + 1; }
  double flops() const { return 2.0 * N * O * Ho() * Ho() * C * k * k; }
};
ConvCase conv_case(const benchmark::State& st) {
  return {st.range(0), st.range(1), st.range(2), st.range(3), st.range(4), st.range(5), st.range(6),
          st.range(7) != 0};
}

// LeNet-5 at batch 64 (conv1 1->6 5x5 pad 2 on 28x28; conv2 6->16 5x5 on 14x14)
// and ResNet-18's 3x3 stride-1 pad-1 convolutions at batch 32 (64 ch 56x56, 128 ch 28x28).
#define KN_CONV_SHAPES                                                                     \
  Args({64, 1, 28, 6, 5, 1, 2, 0, 2})                                                      \
      ->Args({64, 6, 14, 16, 5, 1, 0, 1, 2})                                               \
      ->Args({32, 64, 56, 64, 3, 1, 1, 1, 2})                                              \
      ->Args({32, 128, 28, 128, 3, 1, 1, 1, 2})                                            \
      ->Args({32, 64, 56, 64, 3, 1, 1, 1, 1})                                              \
      ->ArgNames({"N", "C", "H", "O", "k", "stride", "pad", "dx", "threads"})              \
      ->UseRealTime()

void BM_Conv2dForward(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  F32 x({c.N, c.C, c.H, c.H}), w({c.O, c.C, c.k, c.k}), b({c.O}), y({c.N, c.O, c.Ho(), c.Ho()});
  const kn_conv2d_params p{{c.s, c.s}, {c.p, c.p}, {1, 1}, 1};
  const kn_exec ex = threads(state, 8);
  for (auto _ : state) check(kn_conv2d_forward(&p, &x.t, &w.t, &b.t, &y.t, &ex));
  set_flops(state, c.flops());
}
BENCHMARK(BM_Conv2dForward)->KN_CONV_SHAPES;

void BM_Conv2dBackward(benchmark::State& state) {
  const ConvCase c = conv_case(state);
  F32 x({c.N, c.C, c.H, c.H}), w({c.O, c.C, c.k, c.k}), dy({c.N, c.O, c.Ho(), c.Ho()});
  F32 dx({c.N, c.C, c.H, c.H}), dw({c.O, c.C, c.k, c.k}), db({c.O});
  const kn_conv2d_params p{{c.s, c.s}, {c.p, c.p}, {1, 1}, 1};
  const kn_exec ex = threads(state, 8);
  const kn_tensor* dxp = c.need_dx ? &dx.t : nullptr;
  for (auto _ : state) check(kn_conv2d_backward(&p, &dy.t, &x.t, &w.t, dxp, &dw.t, &db.t, &ex));
  set_flops(state, c.flops() * (c.need_dx ? 2 : 1));
}
BENCHMARK(BM_Conv2dBackward)->KN_CONV_SHAPES;

}  // namespace

BENCHMARK_MAIN();
