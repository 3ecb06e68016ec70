// Google Benchmark for gSpMM (kn_gspmm_forward / kn_gspmm_backward /
// kn_csr_transpose) through the C ABI, on the size: a random graph
// with 100k nodes and 1M edges (uniform sources and destinations), F = 64,
// float32, int64 indices.
//
//   build/dev/benchmarks/bench_gspmm [--benchmark_filter=Forward]
//
// GB/s counts the bytes a kernel cannot avoid: the gathered rows (E * F * 4)
// plus the output (rows * F * 4; + arg for MAX/MIN; + dedge). The torch peer
// (torch.sparse.mm on the same graph) is benchmarks/spmm_vs_torch.py, and the
// spmm rows of `make bench` (benchmarks/bench.py).
#include <benchmark/benchmark.h>
#include <kernels/kernels.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

constexpr int64_t kNodes = 100000, kEdges = 1000000, kFeat = 64;

void check(kn_status s) {
  if (s != KN_OK) throw std::runtime_error(kn_last_error());
}

template <typename T>
kn_tensor tensor(std::vector<T>& v, int32_t dtype, std::initializer_list<int64_t> shape) {
  kn_tensor t{};
  t.data = v.data(), t.dtype = dtype, t.device_type = KN_DEVICE_CPU, t.ndim = int32_t(shape.size());
  int d = 0;
  for (int64_t s : shape) t.shape[d++] = s;
  for (int64_t i = t.ndim - 1, stride = 1; i >= 0; --i) t.strides[i] = stride, stride *= t.shape[i];
  return t;
}

// One graph and its tensors, built once for every benchmark.
struct Problem {
  std::vector<int64_t> indptr, indices, t_indptr, t_indices, t_edge_ids, arg;
  std::vector<float> w, x, y, dy, dx, de;
  kn_tensor ip, ix, tp, ti, te, ak, wk, xk, yk, dyk, dxk, dek;
  Problem() {
    std::mt19937_64 rng(7);
    std::vector<std::pair<int64_t, int64_t>> edges(kEdges);
    for (auto& e : edges) e = {int64_t(rng() % kNodes), int64_t(rng() % kNodes)};
    std::sort(edges.begin(), edges.end());  // CSR by destination, as torch's COO -> CSR
    indptr.assign(kNodes + 1, 0);
    indices.resize(kEdges);
    for (int64_t k = 0; k < kEdges; ++k) ++indptr[edges[k].first + 1], indices[k] = edges[k].second;
    for (int64_t v = 0; v < kNodes; ++v) indptr[v + 1] += indptr[v];
    t_indptr.resize(kNodes + 1), t_indices.resize(kEdges), t_edge_ids.resize(kEdges);
    arg.resize(kNodes * kFeat);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    w.resize(kEdges), x.resize(kNodes * kFeat), dy.resize(kNodes * kFeat);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    for (float& v : dy) v = dist(rng);
    y.resize(kNodes * kFeat), dx.resize(kNodes * kFeat), de.resize(kEdges);
    ip = tensor(indptr, KN_INT64, {kNodes + 1}), ix = tensor(indices, KN_INT64, {kEdges});
    tp = tensor(t_indptr, KN_INT64, {kNodes + 1}), ti = tensor(t_indices, KN_INT64, {kEdges});
    te = tensor(t_edge_ids, KN_INT64, {kEdges}), ak = tensor(arg, KN_INT64, {kNodes, kFeat});
    wk = tensor(w, KN_FLOAT32, {kEdges}), xk = tensor(x, KN_FLOAT32, {kNodes, kFeat});
    yk = tensor(y, KN_FLOAT32, {kNodes, kFeat}), dyk = tensor(dy, KN_FLOAT32, {kNodes, kFeat});
    dxk = tensor(dx, KN_FLOAT32, {kNodes, kFeat}), dek = tensor(de, KN_FLOAT32, {kEdges});
    check(kn_csr_transpose(&ip, &ix, &tp, &ti, &te, nullptr));
  }
};

Problem& problem() {
  static Problem p;
  return p;
}

// range(0): reduce, range(1): message, range(2): threads, range(3): skip_index_check
kn_gspmm_params params(const benchmark::State& s) {
  return {int32_t(s.range(1)), int32_t(s.range(0)), int32_t(s.range(3))};
}

bool arg_reduce(const kn_gspmm_params& p) { return p.reduce == KN_GSPMM_MAX || p.reduce == KN_GSPMM_MIN; }

void BM_GSpmmForward(benchmark::State& state) {
  Problem& P = problem();
  const kn_gspmm_params p = params(state);
  const kn_exec ex{nullptr, nullptr, 0, int32_t(state.range(2)), 0};
  const bool mul = p.message == KN_GSPMM_U_MUL_E, am = arg_reduce(p);
  for (auto _ : state)
    check(kn_gspmm_forward(&p, &P.ip, &P.ix, mul ? &P.wk : nullptr, &P.xk, &P.yk, am ? &P.ak : nullptr, &ex));
  const double bytes = double(kEdges) * kFeat * 4 + double(kNodes) * kFeat * (4 + (am ? 8 : 0));
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GSpmmBackward(benchmark::State& state) {
  Problem& P = problem();
  const kn_gspmm_params p = params(state);
  const kn_exec ex{nullptr, nullptr, 0, int32_t(state.range(2)), 0};
  const bool mul = p.message == KN_GSPMM_U_MUL_E, am = arg_reduce(p);
  if (am) {
    const kn_gspmm_params fp{p.message, p.reduce, 0};
    check(kn_gspmm_forward(&fp, &P.ip, &P.ix, mul ? &P.wk : nullptr, &P.xk, &P.yk, &P.ak, &ex));
  }
  for (auto _ : state)
    check(kn_gspmm_backward(&p, &P.dyk, &P.ip, &P.ix, &P.tp, &P.ti, &P.te, mul ? &P.wk : nullptr, &P.xk,
                            am ? &P.ak : nullptr, &P.dxk, mul ? &P.dek : nullptr, &ex));
  // dx gathers dy rows (E * F), dedge gathers x rows (E * F) and reads dy.
  const double bytes = double(kEdges) * kFeat * 4 * (mul ? 2 : 1) + double(kNodes) * kFeat * 4 +
                       (mul ? double(kEdges) * 4 : 0);
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_CsrTranspose(benchmark::State& state) {
  Problem& P = problem();
  const kn_exec ex{nullptr, nullptr, 0, int32_t(state.range(0)), 0};
  for (auto _ : state) check(kn_csr_transpose(&P.ip, &P.ix, &P.tp, &P.ti, &P.te, &ex));
  state.counters["GB/s"] =
      benchmark::Counter(double(kEdges) * 8 * 4 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void reduces(benchmark::internal::Benchmark* b) {
  b->ArgNames({"reduce", "message", "threads", "skip_check"});
  for (int64_t threads : {1, 2})
    for (int64_t r : {KN_GSPMM_SUM, KN_GSPMM_MEAN, KN_GSPMM_MAX, KN_GSPMM_MIN})
      b->Args({r, KN_GSPMM_COPY_U, threads, 0});
  b->Args({KN_GSPMM_SUM, KN_GSPMM_U_MUL_E, 2, 0});
  b->Args({KN_GSPMM_SUM, KN_GSPMM_COPY_U, 2, 1});
  b->Args({KN_GSPMM_SUM, KN_GSPMM_COPY_U, 1, 1});
}

BENCHMARK(BM_GSpmmForward)->Apply(reduces)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GSpmmBackward)->Apply(reduces)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CsrTranspose)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
