// CUDA gSpMM (kn_csr_transpose, kn_gspmm_forward/backward) against the CPU
// kernels, through the C ABI (conventions: test_cuda_kernels.cpp). The same
// random graph and strided storage on both devices; the whole storage of
// every output is compared afterwards (so nothing outside the views was
// written). Both sum each output element over the edges in the same order,
// so results differ only by FMA contraction; arg and the transposed graph
// must agree exactly. Skips without a GPU.
#include <algorithm>
#include <memory>

#include "cuda_util.hpp"
#include "kernels/gspmm.h"

namespace {

using namespace kn_cuda_test;

// A 1-d index Buffer holding v in a `layout` view (other storage: -99).
template <typename I>
std::unique_ptr<Buffer<I>> index_buffer(const std::vector<int64_t>& v, Layout layout) {
  const int64_t n = static_cast<int64_t>(v.size());
  const int64_t s = make_strides({n}, layout)[0];
  const int64_t lo = n > 0 && s < 0 ? s * (n - 1) : 0;
  const int64_t offset = Buffer<I>::kGuard - lo;
  return std::make_unique<Buffer<I>>(Shape{n}, layout, [=](size_t i) {
    const int64_t rel = static_cast<int64_t>(i) - offset;
    if (s != 0 && rel % s == 0) {
      const int64_t j = rel / s;
      if (j >= 0 && j < n) return static_cast<I>(v[j]);
    }
    return static_cast<I>(-99);
  });
}

struct GraphConfig {
  int64_t V, U, F, max_degree;
  bool empty_rows, duplicates;
};

const std::vector<GraphConfig> kGraphs = {
    {40, 30, 9, 6, false, false},
    {64, 20, 100, 5, true, true},   // F > 32: each lane takes several columns
    {300, 700, 33, 12, true, false},
    {1, 5, 3, 0, false, false},     // E = 0
    {0, 4, 5, 3, false, false},     // no destinations
    {25, 17, 0, 4, false, false},   // F = 0
};

struct Graph {
  std::vector<int64_t> indptr, indices;
};

Graph random_graph(const GraphConfig& c, std::mt19937& rng) {
  Graph g;
  g.indptr.push_back(0);
  for (int64_t v = 0; v < c.V; ++v) {
    int64_t len = c.max_degree > 0 ? int64_t(rng() % uint32_t(c.max_degree + 1)) : 0;
    if (c.empty_rows && v % 3 == 0) len = 0;
    for (int64_t j = 0; j < len; ++j) {
      if (c.duplicates && j > 0 && rng() % 4 == 0)
        g.indices.push_back(g.indices.back());
      else
        g.indices.push_back(int64_t(rng() % uint32_t(c.U)));
    }
    g.indptr.push_back(int64_t(g.indices.size()));
  }
  return g;
}

template <typename T, typename I>
void run_case(const GraphConfig& c, int32_t message, int32_t reduce, Layout lin, Layout lout, Layout lidx,
              std::mt19937& rng, const kn_exec& ex, const std::function<void()>& sync) {
  SCOPED_TRACE(::testing::Message() << "V=" << c.V << " U=" << c.U << " F=" << c.F << " message=" << message
                                    << " reduce=" << reduce << " in " << layout_name(lin) << " out "
                                    << layout_name(lout) << " graph " << layout_name(lidx)
                                    << " index bytes " << sizeof(I));
  const Graph g = random_graph(c, rng);
  const int64_t E = int64_t(g.indices.size());
  auto ip = index_buffer<I>(g.indptr, lidx), ix = index_buffer<I>(g.indices, lidx);
  // The transposed graph: CPU and CUDA outputs must be identical.
  auto tp = index_buffer<I>(std::vector<int64_t>(size_t(c.U + 1), 0), lidx);
  auto ti = index_buffer<I>(std::vector<int64_t>(size_t(E), 0), lidx);
  auto te = index_buffer<I>(std::vector<int64_t>(size_t(E), 0), lidx);
  KN_OK_(kn_csr_transpose(&ip->h, &ix->h, &tp->h, &ti->h, &te->h, nullptr));
  KN_OK_(kn_csr_transpose(&ip->d, &ix->d, &tp->d, &ti->d, &te->d, &ex));
  sync();
  EXPECT_TRUE(same_storage(*tp, 0, 0));
  EXPECT_TRUE(same_storage(*ti, 0, 0));
  EXPECT_TRUE(same_storage(*te, 0, 0));

  const bool mul = message == KN_GSPMM_U_MUL_E, am = reduce >= KN_GSPMM_MAX;
  const kn_gspmm_params p{message, reduce, 0};
  Buffer<T> x({c.U, c.F}, lin, rng), w({E}, lin == Layout::Broadcast ? Layout::Contiguous : lin, rng);
  Buffer<T> y({c.V, c.F}, lout, rng), dy({c.V, c.F}, lin, rng), dx({c.U, c.F}, lout, rng), de({E}, lout, rng);
  Buffer<int64_t> arg({c.V, c.F}, lout, int64_t(-5));
  const double tol = 64 * eps<T>();
  KN_OK_(kn_gspmm_forward(&p, &ip->h, &ix->h, mul ? &w.h : nullptr, &x.h, &y.h, am ? &arg.h : nullptr, nullptr));
  KN_OK_(kn_gspmm_forward(&p, &ip->d, &ix->d, mul ? &w.d : nullptr, &x.d, &y.d, am ? &arg.d : nullptr, &ex));
  sync();
  EXPECT_TRUE(same_storage(y, tol, tol));
  if (am) {
    EXPECT_TRUE(same_storage(arg, 0, 0));
  }
  // Backward: each device uses its own arg (equal, checked above).
  KN_OK_(kn_gspmm_backward(&p, &dy.h, &ip->h, &ix->h, &tp->h, &ti->h, &te->h, mul ? &w.h : nullptr, &x.h,
                           am ? &arg.h : nullptr, &dx.h, mul ? &de.h : nullptr, nullptr));
  KN_OK_(kn_gspmm_backward(&p, &dy.d, &ip->d, &ix->d, &tp->d, &ti->d, &te->d, mul ? &w.d : nullptr, &x.d,
                           am ? &arg.d : nullptr, &dx.d, mul ? &de.d : nullptr, &ex));
  sync();
  EXPECT_TRUE(same_storage(dx, tol, tol));
  if (mul) {
    EXPECT_TRUE(same_storage(de, tol * 4, tol * 4));
  }
}

TYPED_TEST(CudaKernels, GSpmmMatchesCpu) {
  using T = TypeParam;
  const std::function<void()> sync = [this] { this->sync(); };
  for (const GraphConfig& c : kGraphs)
    for (int32_t message : {KN_GSPMM_COPY_U, KN_GSPMM_U_MUL_E})
      for (int32_t reduce : {KN_GSPMM_SUM, KN_GSPMM_MEAN, KN_GSPMM_MAX, KN_GSPMM_MIN}) {
        run_case<T, int64_t>(c, message, reduce, Layout::Contiguous, Layout::Contiguous, Layout::Contiguous,
                             this->rng_, this->ex_, sync);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

TYPED_TEST(CudaKernels, GSpmmStridedAndInt32) {
  using T = TypeParam;
  const std::function<void()> sync = [this] { this->sync(); };
  const GraphConfig c = kGraphs[1];
  for (Layout lin : kInputLayouts)
    for (Layout lout : kOutputLayouts)
      for (int32_t reduce : {KN_GSPMM_MEAN, KN_GSPMM_MAX}) {
        run_case<T, int32_t>(c, KN_GSPMM_U_MUL_E, reduce, lin, lout,
                             lout == Layout::Reversed ? Layout::Reversed : Layout::Sliced, this->rng_, this->ex_,
                             sync);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

// Same inputs twice: bit-identical outputs (no float atomics; the transpose's
// atomic fill order is undone by the per-segment sort).
TYPED_TEST(CudaKernels, GSpmmDeterministic) {
  using T = TypeParam;
  const GraphConfig c{500, 50, 40, 30, false, true};  // many edges per source
  const Graph g = random_graph(c, this->rng_);
  const int64_t E = int64_t(g.indices.size());
  auto ip = index_buffer<int64_t>(g.indptr, Layout::Contiguous), ix = index_buffer<int64_t>(g.indices, Layout::Contiguous);
  auto tp = index_buffer<int64_t>(std::vector<int64_t>(size_t(c.U + 1), 0), Layout::Contiguous);
  auto ti = index_buffer<int64_t>(std::vector<int64_t>(size_t(E), 0), Layout::Contiguous);
  auto te = index_buffer<int64_t>(std::vector<int64_t>(size_t(E), 0), Layout::Contiguous);
  Buffer<T> x({c.U, c.F}, Layout::Contiguous, this->rng_), w({E}, Layout::Contiguous, this->rng_),
      dy({c.V, c.F}, Layout::Contiguous, this->rng_), dx({c.U, c.F}, Layout::Contiguous, this->rng_),
      de({E}, Layout::Contiguous, this->rng_);
  const kn_gspmm_params p{KN_GSPMM_U_MUL_E, KN_GSPMM_SUM, 0};
  std::vector<int64_t> first_te;
  std::vector<T> first_dx, first_de;
  for (int run = 0; run < 2; ++run) {
    KN_OK_(kn_csr_transpose(&ip->d, &ix->d, &tp->d, &ti->d, &te->d, &this->ex_));
    KN_OK_(kn_gspmm_backward(&p, &dy.d, &ip->d, &ix->d, &tp->d, &ti->d, &te->d, &w.d, &x.d, nullptr, &dx.d,
                             &de.d, &this->ex_));
    this->sync();
    if (run == 0) {
      first_te = te->download(), first_dx = dx.download(), first_de = de.download();
    } else {
      EXPECT_EQ(te->download(), first_te);
      EXPECT_EQ(dx.download(), first_dx);
      EXPECT_EQ(de.download(), first_de);
    }
  }
}

}  // namespace
