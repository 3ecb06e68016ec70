// Google Benchmark for softmax, log_softmax, cross_entropy and nll_loss on
// (4096, 1000) float32 (an ImageNet-sized classifier head) through the C ABI,
// dim 1 / class dim 1, mean reduction, int64 targets. Reports bytes_per_second.
//
//   build/cmake/benchmarks/bench_softmax [--benchmark_format=json]
//
// Bytes per call (float32 = 4, int64 target = 8 bytes; R = 4096 rows, C = 1000):
//   softmax / log_softmax forward   8 R C        (read x, write y)
//   softmax / log_softmax backward 12 R C        (read dy, y; write dx)
//   cross_entropy forward           4 R C + 8 R  (read logits, targets)
//   cross_entropy backward          8 R C + 8 R  (read logits, write dinput)
//   nll_loss forward               12 R          (one gathered element + target per row)
//   nll_loss backward               4 R C + 8 R  (write dinput, mostly zeros)
#include "bench_common.hpp"

namespace {

using kn_bench::Buf;
using kn_bench::check;
using kn_bench::F32;
using kn_bench::set_bytes;
using kn_bench::threads;

using SoftmaxFwd = kn_status (*)(int32_t, const kn_tensor*, const kn_tensor*, const kn_exec*);
using SoftmaxBwd = kn_status (*)(int32_t, const kn_tensor*, const kn_tensor*, const kn_tensor*,
                                 const kn_exec*);

#define KN_HEAD_SHAPES ArgsProduct({{4096}, {1000}, {2}})->ArgNames({"R", "C", "threads"})->UseRealTime()

void BM_SoftmaxForward(benchmark::State& state, SoftmaxFwd f) {
  const int64_t R = state.range(0), C = state.range(1);
  F32 x({R, C}), y({R, C});
  x.fill(-5, 5);
  const kn_exec ex = threads(state, 2);
  for (auto _ : state) check(f(1, &x.t, &y.t, &ex));
  set_bytes(state, 8.0 * R * C, double(R * C));
}
BENCHMARK_CAPTURE(BM_SoftmaxForward, softmax, kn_softmax_forward)->KN_HEAD_SHAPES;
BENCHMARK_CAPTURE(BM_SoftmaxForward, log_softmax, kn_log_softmax_forward)->KN_HEAD_SHAPES;

void BM_SoftmaxBackward(benchmark::State& state, SoftmaxFwd fwd, SoftmaxBwd bwd) {
  const int64_t R = state.range(0), C = state.range(1);
  F32 x({R, C}), y({R, C}), dy({R, C}), dx({R, C});
  x.fill(-5, 5);
  const kn_exec ex = threads(state, 2);
  check(fwd(1, &x.t, &y.t, &ex));  // a real output to differentiate
  for (auto _ : state) check(bwd(1, &dy.t, &y.t, &dx.t, &ex));
  set_bytes(state, 12.0 * R * C, double(R * C));
}
BENCHMARK_CAPTURE(BM_SoftmaxBackward, softmax, kn_softmax_forward, kn_softmax_backward)
    ->KN_HEAD_SHAPES;
BENCHMARK_CAPTURE(BM_SoftmaxBackward, log_softmax, kn_log_softmax_forward, kn_log_softmax_backward)
    ->KN_HEAD_SHAPES;

const kn_cross_entropy_params kMean{KN_REDUCTION_MEAN, -100, 0.0};

void BM_CrossEntropyForward(benchmark::State& state) {
  const int64_t R = state.range(0), C = state.range(1);
  F32 x({R, C}), out({}), tw({});
  Buf<int64_t> target({R});
  target.fill(0, double(C - 1));
  const kn_exec ex = threads(state, 2);
  for (auto _ : state)
    check(kn_cross_entropy_forward(&kMean, &x.t, &target.t, nullptr, &out.t, &tw.t, &ex));
  set_bytes(state, 4.0 * R * C + 8.0 * R, double(R * C));
}
BENCHMARK(BM_CrossEntropyForward)->KN_HEAD_SHAPES;

void BM_CrossEntropyBackward(benchmark::State& state) {
  const int64_t R = state.range(0), C = state.range(1);
  F32 x({R, C}), out({}), tw({}), dout({}), dx({R, C});
  Buf<int64_t> target({R});
  target.fill(0, double(C - 1));
  dout.data[0] = 1.f;
  const kn_exec ex = threads(state, 2);
  check(kn_cross_entropy_forward(&kMean, &x.t, &target.t, nullptr, &out.t, &tw.t, &ex));
  for (auto _ : state)
    check(kn_cross_entropy_backward(&kMean, &dout.t, &x.t, &target.t, nullptr, &tw.t, &dx.t, &ex));
  set_bytes(state, 8.0 * R * C + 8.0 * R, double(R * C));
}
BENCHMARK(BM_CrossEntropyBackward)->KN_HEAD_SHAPES;

void BM_NllLossForward(benchmark::State& state) {
  const int64_t R = state.range(0), C = state.range(1);
  F32 x({R, C}), out({}), tw({});
  Buf<int64_t> target({R});
  target.fill(0, double(C - 1));
  const kn_exec ex = threads(state, 2);
  for (auto _ : state) check(kn_nll_loss_forward(&kMean, &x.t, &target.t, nullptr, &out.t, &tw.t, &ex));
  set_bytes(state, 12.0 * R, double(R));
}
BENCHMARK(BM_NllLossForward)->KN_HEAD_SHAPES;

void BM_NllLossBackward(benchmark::State& state) {
  const int64_t R = state.range(0), C = state.range(1);
  F32 x({R, C}), out({}), tw({}), dout({}), dx({R, C});
  Buf<int64_t> target({R});
  target.fill(0, double(C - 1));
  dout.data[0] = 1.f;
  const kn_exec ex = threads(state, 2);
  check(kn_nll_loss_forward(&kMean, &x.t, &target.t, nullptr, &out.t, &tw.t, &ex));
  for (auto _ : state)
    check(kn_nll_loss_backward(&kMean, &dout.t, &target.t, nullptr, &tw.t, &dx.t, &ex));
  set_bytes(state, 4.0 * R * C + 8.0 * R, double(R * C));
}
BENCHMARK(BM_NllLossBackward)->KN_HEAD_SHAPES;

}  // namespace

BENCHMARK_MAIN();
