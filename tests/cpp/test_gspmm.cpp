// kn_csr_transpose / kn_gspmm_forward / kn_gspmm_backward through the C ABI,
// against a naive double-precision reference written below (edge by edge,
// no row splitting or blocking shared with the kernel).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor_util.hpp"
#include "kernels/gspmm.h"

namespace kntest {
namespace {

using Vec = std::vector<double>;
using IVec = std::vector<int64_t>;

::testing::AssertionResult same_indices(const std::string& what, const IVec& got, const IVec& want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": " << got.size() << " elements, expected " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure() << what << "[" << i << "] = " << got[i] << ", expected " << want[i];
  return ::testing::AssertionSuccess();
}

// ------------------------------------------------------------ graphs

struct Graph {
  int64_t V = 0, U = 0;
  IVec indptr{0}, indices;
  int64_t E() const { return static_cast<int64_t>(indices.size()); }
};

// Random CSR: row lengths in [0, max_degree] (with `empty_every`: every such
// row empty), sources uniform; `duplicates`: some edges repeat the previous one.
Graph random_graph(Rng& rng, int64_t V, int64_t U, int64_t max_degree, int64_t empty_every,
                   bool duplicates, bool skewed = false) {
  Graph g;
  g.V = V, g.U = U;
  g.indptr.assign(1, 0);
  for (int64_t v = 0; v < V; ++v) {
    int64_t len = U == 0 ? 0 : rng.integer(0, max_degree);
    if (empty_every > 0 && v % empty_every == 0) len = 0;
    if (skewed && v == 0 && U > 0) len = max_degree * 50;
    for (int64_t j = 0; j < len; ++j) {
      if (duplicates && j > 0 && rng.integer(0, 3) == 0)
        g.indices.push_back(g.indices.back());
      else
        g.indices.push_back(rng.integer(0, U - 1));
    }
    g.indptr.push_back(g.E());
  }
  return g;
}

struct Transposed {
  IVec indptr, indices, edge_ids;
};

// Edges sorted by source with a stable sort (so by k within a source).
Transposed ref_transpose(const Graph& g) {
  std::vector<std::pair<int64_t, int64_t>> by_src;  // (source, k)
  for (int64_t k = 0; k < g.E(); ++k) by_src.push_back({g.indices[k], k});
  std::stable_sort(by_src.begin(), by_src.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  IVec dst_of(static_cast<size_t>(g.E()));
  for (int64_t v = 0; v < g.V; ++v)
    for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) dst_of[k] = v;
  Transposed t;
  t.indptr.assign(static_cast<size_t>(g.U) + 1, 0);
  for (const auto& e : by_src) {
    ++t.indptr[e.first + 1];
    t.indices.push_back(dst_of[e.second]);
    t.edge_ids.push_back(e.second);
  }
  for (int64_t u = 0; u < g.U; ++u) t.indptr[u + 1] += t.indptr[u];
  return t;
}

// ------------------------------------------------------------ reference

// The message in T precision (what the kernel multiplies).
double round_to(int32_t dtype, double v) { return dtype == KN_FLOAT32 ? double(float(v)) : v; }

struct FwdRef {
  Vec y, mag;  // mag: sum of |terms| (rounding-error scale)
  IVec arg;
};

FwdRef ref_forward(const Graph& g, int32_t message, int32_t reduce, const Vec& x, const Vec& w,
                   int64_t F, int32_t dtype) {
  FwdRef r;
  r.y.assign(static_cast<size_t>(g.V * F), 0.0);
  r.mag.assign(r.y.size(), 0.0);
  r.arg.assign(r.y.size(), -1);
  for (int64_t v = 0; v < g.V; ++v) {
    const int64_t k0 = g.indptr[v], k1 = g.indptr[v + 1];
    for (int64_t f = 0; f < F; ++f) {
      double acc = 0, mag = 0;
      int64_t at = -1;
      for (int64_t k = k0; k < k1; ++k) {
        const double m = round_to(dtype, x[g.indices[k] * F + f] * (message == KN_GSPMM_U_MUL_E ? w[k] : 1.0));
        if (reduce == KN_GSPMM_SUM || reduce == KN_GSPMM_MEAN) {
          acc += m, mag += std::fabs(m);
        } else if (at < 0) {
          acc = m, at = k;
        } else if (!std::isnan(acc)) {
          const bool better = reduce == KN_GSPMM_MAX ? m > acc : m < acc;
          if (better || std::isnan(m)) acc = m, at = k;
        }
      }
      if (reduce == KN_GSPMM_MEAN && k1 > k0) acc /= double(k1 - k0), mag /= double(k1 - k0);
      r.y[v * F + f] = acc;
      r.mag[v * F + f] = reduce <= KN_GSPMM_MEAN ? mag : 0.0;
      r.arg[v * F + f] = at;
    }
  }
  return r;
}

struct BwdRef {
  Vec dx, dx_mag, de, de_mag;
};

// c(v, f, k): 1 (SUM), 1/len (MEAN), [arg == k] (MAX / MIN).
BwdRef ref_backward(const Graph& g, int32_t message, int32_t reduce, const Vec& x, const Vec& w,
                    const Vec& dy, const IVec& arg, int64_t F) {
  BwdRef r;
  r.dx.assign(static_cast<size_t>(g.U * F), 0.0);
  r.dx_mag = r.dx;
  r.de.assign(static_cast<size_t>(g.E()), 0.0);
  r.de_mag = r.de;
  for (int64_t v = 0; v < g.V; ++v) {
    const int64_t k0 = g.indptr[v], k1 = g.indptr[v + 1];
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t u = g.indices[k];
      const double wk = message == KN_GSPMM_U_MUL_E ? w[k] : 1.0;
      for (int64_t f = 0; f < F; ++f) {
        double c = 1.0;
        if (reduce == KN_GSPMM_MEAN) c = 1.0 / double(k1 - k0);
        if (reduce >= KN_GSPMM_MAX) c = arg[v * F + f] == k ? 1.0 : 0.0;
        const double g1 = dy[v * F + f] * wk * c;
        r.dx[u * F + f] += g1, r.dx_mag[u * F + f] += std::fabs(g1);
        const double g2 = dy[v * F + f] * x[u * F + f] * c;
        r.de[k] += g2, r.de_mag[k] += std::fabs(g2);
      }
    }
  }
  return r;
}

// ------------------------------------------------------------ tester

// GSpmmTester().dst(50).src(30).feat(20).degree(6).reduce(KN_GSPMM_MAX)
//   .message(KN_GSPMM_U_MUL_E).slice("x").test_all();
// Operands for layouts: x, w (edge values), y, arg, dy, dx, dedge, and
// "graph" (every index tensor of the graph: indptr, indices, t_*).
class GSpmmTester : public TesterBase<GSpmmTester> {
 public:
  GSpmmTester& dst(int64_t v) { V_ = v; return *this; }
  GSpmmTester& src(int64_t u) { U_ = u; return *this; }
  GSpmmTester& feat(int64_t f) { F_ = f; return *this; }
  GSpmmTester& degree(int64_t d) { degree_ = d; return *this; }
  GSpmmTester& empty_every(int64_t n) { empty_every_ = n; return *this; }
  GSpmmTester& duplicates(bool d = true) { duplicates_ = d; return *this; }
  GSpmmTester& skewed(bool s = true) { skewed_ = s; return *this; }
  GSpmmTester& message(int32_t m) { message_ = m; return *this; }
  GSpmmTester& reduce(int32_t r) { reduce_ = r; return *this; }
  GSpmmTester& index_dtype(int32_t d) { idtype_ = d; return *this; }
  GSpmmTester& arg_dtype(int32_t d) { adtype_ = d; return *this; }
  GSpmmTester& skip_check(bool s = true) { skip_ = s; return *this; }

  bool mul_e() const { return message_ == KN_GSPMM_U_MUL_E; }
  bool arg_red() const { return reduce_ == KN_GSPMM_MAX || reduce_ == KN_GSPMM_MIN; }
  kn_gspmm_params params() const { return {message_, reduce_, skip_ ? 1 : 0}; }

  std::string describe() const {
    std::ostringstream o;
    o << "V=" << V_ << " U=" << U_ << " F=" << F_ << " degree=" << degree_ << " empty_every=" << empty_every_
      << " dup=" << duplicates_ << " message=" << message_ << " reduce=" << reduce_
      << " index=" << (idtype_ == KN_INT64 ? "int64" : "int32") << " " << describe_common();
    return o.str();
  }

  // Everything a call needs, built from the options.
  struct Case {
    Graph g;
    Transposed t;
    IndexTensor indptr, indices, t_indptr, t_indices, t_edge_ids;
    HostTensor x, w, dy;
  };

  Case build() const {
    Rng rng(seed_);
    Case c;
    c.g = random_graph(rng, V_, U_, degree_, empty_every_, duplicates_, skewed_);
    c.t = ref_transpose(c.g);
    const Layout gl = layout_of("graph");
    c.indptr = IndexTensor({V_ + 1}, idtype_, gl);
    c.indptr.set_values(c.g.indptr);
    c.indices = IndexTensor({c.g.E()}, idtype_, gl);
    c.indices.set_values(c.g.indices);
    c.t_indptr = IndexTensor({U_ + 1}, idtype_, gl);
    c.t_indptr.set_values(c.t.indptr);
    c.t_indices = IndexTensor({c.g.E()}, idtype_, gl);
    c.t_indices.set_values(c.t.indices);
    c.t_edge_ids = IndexTensor({c.g.E()}, idtype_, gl);
    c.t_edge_ids.set_values(c.t.edge_ids);
    c.x = make("x", {U_, F_});
    c.x.fill_random(rng);
    c.w = make("w", {c.g.E()});
    c.w.fill_random(rng, 0.25, 2.0);
    c.dy = make("dy", {V_, F_});
    c.dy.fill_random(rng);
    return c;
  }

  struct Out {
    HostTensor y;
    IndexTensor arg;
    kn_status status;
  };

  Out forward(const Case& c) const {
    Out o{make_output("y", {V_, F_}), IndexTensor({V_, F_}, adtype_, layout_of("arg")), KN_OK};
    o.arg.fill(-7777);
    const kn_tensor ip = c.indptr.kn(), ix = c.indices.kn(), w = c.w.kn(), x = c.x.kn(), y = o.y.kn(),
                    a = o.arg.kn();
    const kn_gspmm_params p = params();
    const kn_exec ex = exec();
    o.status = kn_gspmm_forward(&p, &ip, &ix, mul_e() ? &w : nullptr, &x, &y, arg_red() ? &a : nullptr,
                                exec_ptr(ex));
    return o;
  }

  struct Grads {
    HostTensor dx, de;
    kn_status status;
  };

  Grads backward(const Case& c, const IndexTensor& arg, bool want_dx = true, bool want_de = true) const {
    Grads gr{make_output("dx", {U_, F_}), make_output("dedge", {c.g.E()}), KN_OK};
    const kn_tensor dy = c.dy.kn(), ip = c.indptr.kn(), ix = c.indices.kn(), tp = c.t_indptr.kn(),
                    ti = c.t_indices.kn(), te = c.t_edge_ids.kn(), w = c.w.kn(), x = c.x.kn(), a = arg.kn(),
                    dx = gr.dx.kn(), de = gr.de.kn();
    const kn_gspmm_params p = params();
    const kn_exec ex = exec();
    const bool de_ok = want_de && mul_e();
    gr.status = kn_gspmm_backward(&p, &dy, &ip, &ix, want_dx ? &tp : nullptr, want_dx ? &ti : nullptr,
                                  want_dx ? &te : nullptr, mul_e() ? &w : nullptr, &x,
                                  arg_red() ? &a : nullptr, want_dx ? &dx : nullptr, de_ok ? &de : nullptr,
                                  exec_ptr(ex));
    return gr;
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    const Case c = build();
    const Out o = forward(c);
    ASSERT_EQ(o.status, KN_OK) << kn_last_error();
    const FwdRef want = ref_forward(c.g, message_, reduce_, c.x.values(), c.w.values(), F_, dtype_);
    if (arg_red()) {
      EXPECT_TRUE(all_equal("y", o.y.values(), want.y));
      EXPECT_TRUE(same_indices("arg", o.arg.values(), want.arg));
      EXPECT_TRUE(o.arg.outside_untouched("arg"));
    } else {
      EXPECT_TRUE(all_close("y", o.y.values(), want.y, want.mag, rtol(degree_ * (skewed_ ? 50 : 1))));
    }
    EXPECT_TRUE(o.y.outside_untouched("y"));
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    const Case c = build();
    const Out o = forward(c);
    ASSERT_EQ(o.status, KN_OK) << kn_last_error();
    const Grads gr = backward(c, o.arg);
    ASSERT_EQ(gr.status, KN_OK) << kn_last_error();
    const BwdRef want = ref_backward(c.g, message_, reduce_, c.x.values(), c.w.values(), c.dy.values(),
                                     o.arg.values(), F_);
    int64_t max_in = 1;  // the most edges of one source: terms of a dx element
    for (int64_t u = 0; u < U_; ++u) max_in = std::max(max_in, c.t.indptr[u + 1] - c.t.indptr[u]);
    EXPECT_TRUE(all_close("dx", gr.dx.values(), want.dx, want.dx_mag, rtol(max_in)));
    EXPECT_TRUE(gr.dx.outside_untouched("dx"));
    if (mul_e()) {
      EXPECT_TRUE(all_close("dedge", gr.de.values(), want.de, want.de_mag, rtol(F_ + 16)));
      EXPECT_TRUE(gr.de.outside_untouched("dedge"));
    }
    // Each gradient alone gives the same values.
    const Grads only_dx = backward(c, o.arg, true, false);
    ASSERT_EQ(only_dx.status, KN_OK) << kn_last_error();
    EXPECT_TRUE(all_equal("dx alone", only_dx.dx.values(), gr.dx.values()));
    if (mul_e()) {
      const Grads only_de = backward(c, o.arg, false, true);
      ASSERT_EQ(only_de.status, KN_OK) << kn_last_error();
      EXPECT_TRUE(all_equal("dedge alone", only_de.de.values(), gr.de.values()));
    }
  }

  // Finite differences of L = sum(y * dy) in float64 (away from ties for MAX/MIN).
  void test_gradcheck() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Case c = build();
    const Out o = forward(c);
    ASSERT_EQ(o.status, KN_OK) << kn_last_error();
    const Grads gr = backward(c, o.arg);
    ASSERT_EQ(gr.status, KN_OK) << kn_last_error();
    const Vec dyv = c.dy.values();
    auto loss = [&]() {
      const Out f = forward(c);
      return dot(f.y.values(), dyv);
    };
    EXPECT_TRUE(all_close("dx vs finite differences", gr.dx.values(), numeric_gradient(c.x, loss), {}, 1e-6, 1e-7));
    if (mul_e()) {
      EXPECT_TRUE(all_close("dedge vs finite differences", gr.de.values(), numeric_gradient(c.w, loss), {}, 1e-6,
                            1e-7));
    }
  }

  void test_transpose() const {
    SCOPED_TRACE(describe());
    const Case c = build();
    const Layout gl = layout_of("graph");
    IndexTensor tp({U_ + 1}, idtype_, gl), ti({c.g.E()}, idtype_, gl), te({c.g.E()}, idtype_, gl);
    tp.fill(-5), ti.fill(-5), te.fill(-5);
    const kn_tensor ip = c.indptr.kn(), ix = c.indices.kn(), tpk = tp.kn(), tik = ti.kn(), tek = te.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_csr_transpose(&ip, &ix, &tpk, &tik, &tek, exec_ptr(ex)));
    EXPECT_TRUE(same_indices("t_indptr", tp.values(), c.t.indptr));
    EXPECT_TRUE(same_indices("t_indices", ti.values(), c.t.indices));
    EXPECT_TRUE(same_indices("t_edge_ids", te.values(), c.t.edge_ids));
    EXPECT_TRUE(tp.outside_untouched("t_indptr"));
    EXPECT_TRUE(ti.outside_untouched("t_indices"));
  }

  // 1 and 2 threads give the same bits (forward and backward).
  void test_thread_invariance() const {
    SCOPED_TRACE(describe());
    GSpmmTester one = *this, two = *this;
    one.threads(1), two.threads(2);
    const Case c = build();
    const Out o1 = one.forward(c), o2 = two.forward(c);
    ASSERT_EQ(o1.status, KN_OK) << kn_last_error();
    ASSERT_EQ(o2.status, KN_OK) << kn_last_error();
    EXPECT_TRUE(all_equal("y 1 vs 2 threads", o1.y.values(), o2.y.values()));
    EXPECT_TRUE(same_indices("arg 1 vs 2 threads", o1.arg.values(), o2.arg.values()));
    const Grads g1 = one.backward(c, o1.arg), g2 = two.backward(c, o1.arg);
    ASSERT_EQ(g1.status, KN_OK) << kn_last_error();
    ASSERT_EQ(g2.status, KN_OK) << kn_last_error();
    EXPECT_TRUE(all_equal("dx 1 vs 2 threads", g1.dx.values(), g2.dx.values()));
    if (mul_e()) {
      EXPECT_TRUE(all_equal("dedge 1 vs 2 threads", g1.de.values(), g2.de.values()));
    }
  }

  void test_all() const {
    test_forward();
    test_backward();
  }

 private:
  int64_t V_ = 23, U_ = 17, F_ = 9, degree_ = 5, empty_every_ = 0;
  bool duplicates_ = false, skewed_ = false, skip_ = false;
  int32_t message_ = KN_GSPMM_COPY_U, reduce_ = KN_GSPMM_SUM;
  int32_t idtype_ = KN_INT64, adtype_ = KN_INT64;
};

const int32_t kMessages[] = {KN_GSPMM_COPY_U, KN_GSPMM_U_MUL_E};
const int32_t kReduces[] = {KN_GSPMM_SUM, KN_GSPMM_MEAN, KN_GSPMM_MAX, KN_GSPMM_MIN};

// ------------------------------------------------------------ configurations

using Case = TesterCase<GSpmmTester>;

std::vector<Case> cases() {
  return {
      {"basic", [](GSpmmTester&) {}},
      {"empty_rows", [](GSpmmTester& t) { t.empty_every(3); }},
      {"duplicates", [](GSpmmTester& t) { t.duplicates(); }},
      {"wide_f", [](GSpmmTester& t) { t.feat(150).dst(12).src(9); }},
      {"f_one", [](GSpmmTester& t) { t.feat(1); }},
      {"f_block_exact", [](GSpmmTester& t) { t.feat(64); }},
      {"int32_graph", [](GSpmmTester& t) { t.index_dtype(KN_INT32); }},
      {"int32_arg", [](GSpmmTester& t) { t.arg_dtype(KN_INT32); }},
      {"strided_graph", [](GSpmmTester& t) { t.layout("graph", Layout::sliced(2)); }},
      {"reversed_graph", [](GSpmmTester& t) { t.layout("graph", Layout::reverse()).index_dtype(KN_INT32); }},
      {"transposed_x", [](GSpmmTester& t) { t.transpose("x"); }},
      {"sliced_x_dy", [](GSpmmTester& t) { t.slice("x", 2).slice("dy", 3); }},
      {"reversed_all", [](GSpmmTester& t) {
         t.reverse("x").reverse("dy").reverse("w").reverse("y").reverse("dx").reverse("dedge").reverse("arg");
       }},
      {"transposed_outputs", [](GSpmmTester& t) { t.transpose("y").transpose("dx").transpose("arg").transpose("dy"); }},
      {"broadcast_x_rows", [](GSpmmTester& t) { t.broadcast("x", 1u); }},
      {"broadcast_dy", [](GSpmmTester& t) { t.broadcast("dy", 2u); }},
      {"broadcast_w", [](GSpmmTester& t) { t.broadcast("w", 1u); }},
      {"sliced_w", [](GSpmmTester& t) { t.slice("w", 3); }},
      {"skewed_two_threads", [](GSpmmTester& t) { t.skewed().dst(300).feat(40).threads(2); }},
      {"skip_index_check", [](GSpmmTester& t) { t.skip_check(); }},
      {"null_exec", [](GSpmmTester& t) { t.null_exec(); }},
  };
}

using CaseParam = std::tuple<Case, int32_t>;
class GSpmmCases : public ::testing::TestWithParam<CaseParam> {};
TEST_P(GSpmmCases, ForwardBackwardEveryMessageAndReduce) {
  const auto& [c, dtype] = GetParam();
  for (int32_t m : kMessages)
    for (int32_t r : kReduces) {
      GSpmmTester t;
      t.dtype(dtype).message(m).reduce(r);
      c.apply(t);
      t.test_all();
    }
}
INSTANTIATE_TEST_SUITE_P(GSpmm, GSpmmCases,
                         ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<CaseParam>);

TEST(GSpmm, GradientsMatchFiniteDifferences) {
  for (int32_t m : kMessages)
    for (int32_t r : kReduces)
      GSpmmTester().dtype(KN_FLOAT64).dst(7).src(6).feat(4).degree(4).empty_every(4).message(m).reduce(r)
          .test_gradcheck();
}

TEST(GSpmm, TransposeMatchesReference) {
  GSpmmTester().test_transpose();
  GSpmmTester().empty_every(2).duplicates().index_dtype(KN_INT32).test_transpose();
  GSpmmTester().layout("graph", Layout::sliced(3)).test_transpose();
  GSpmmTester().dst(5).src(40).degree(3).test_transpose();  // many sources without edges
  GSpmmTester().dst(0).src(4).test_transpose();
  GSpmmTester().dst(3).src(0).test_transpose();
  // Big enough for two ranges of rows (each with its own source counters).
  GSpmmTester().dst(4000).src(1000).degree(40).duplicates().threads(2).test_transpose();
  GSpmmTester().dst(4000).src(700).degree(40).skewed().threads(2).index_dtype(KN_INT32)
      .layout("graph", Layout::reverse()).test_transpose();
}

TEST(GSpmm, OneAndTwoThreadsGiveTheSameBits) {
  for (int32_t m : kMessages)
    for (int32_t r : kReduces)
      GSpmmTester().dst(1500).src(900).feat(37).degree(12).empty_every(7).duplicates().message(m).reduce(r)
          .test_thread_invariance();
  GSpmmTester().dst(800).src(300).feat(70).degree(10).skewed().message(KN_GSPMM_U_MUL_E)
      .test_thread_invariance();
}

TEST(GSpmm, RandomShapes) {
  Rng rng(2024);
  for (int i = 0; i < 30; ++i) {
    GSpmmTester t;
    t.seed(100 + i)
        .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
        .dst(rng.integer(0, 40))
        .src(rng.integer(1, 30))
        .feat(rng.integer(0, 80))
        .degree(rng.integer(0, 9))
        .empty_every(rng.integer(0, 4))
        .duplicates(rng.coin())
        .message(kMessages[rng.integer(0, 1)])
        .reduce(kReduces[rng.integer(0, 3)])
        .index_dtype(rng.coin() ? KN_INT32 : KN_INT64)
        .arg_dtype(rng.coin() ? KN_INT32 : KN_INT64)
        .threads(static_cast<int32_t>(rng.integer(1, 2)));
    t.layout("x", random_layout(rng, 2, true)).layout("dy", random_layout(rng, 2, true));
    t.layout("w", random_layout(rng, 1, true)).layout("y", random_layout(rng, 2, false));
    t.layout("dx", random_layout(rng, 2, false));
    t.test_all();
  }
}

TEST(GSpmm, SizeZero) {
  for (int32_t m : kMessages)
    for (int32_t r : kReduces) {
      GSpmmTester().dst(0).message(m).reduce(r).test_all();          // no destinations, no edges
      GSpmmTester().feat(0).message(m).reduce(r).test_all();         // F = 0 (dedge = 0)
      GSpmmTester().degree(0).message(m).reduce(r).test_all();       // E = 0: y = 0, arg = -1
      GSpmmTester().src(0).degree(3).message(m).reduce(r).test_all(); // no sources (so no edges)
    }
}

// torch.sparse.mm(reduce='amax'/'amin'/'sum') propagates NaN; the first NaN wins arg.
TEST(GSpmm, NaNPropagates) {
  const double nan = std::nan("");
  for (int32_t r : kReduces) {
    GSpmmTester t;
    t.dst(2).src(3).feat(2).reduce(r);
    GSpmmTester::Case c = t.build();
    // row 0: edges from 0, 1, 2; row 1: one edge from 2 (overwrite the random graph)
    c.g.indptr = {0, 3, 4};
    c.g.indices = {0, 1, 2, 2};
    c.indptr = IndexTensor({3}, KN_INT64);
    c.indptr.set_values(c.g.indptr);
    c.indices = IndexTensor({4}, KN_INT64);
    c.indices.set_values(c.g.indices);
    c.x.set_values({1.0, nan, nan, 2.0, 5.0, -1.0});
    const GSpmmTester::Out o = t.forward(c);
    ASSERT_EQ(o.status, KN_OK) << kn_last_error();
    const Vec y = o.y.values();
    EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1])) << y[0] << " " << y[1];
    EXPECT_EQ(y[2], 5.0);
    EXPECT_EQ(y[3], -1.0);
    if (r >= KN_GSPMM_MAX) {
      EXPECT_EQ(o.arg.get(0), 1);  // x[1, 0] is the first NaN of column 0
      EXPECT_EQ(o.arg.get(1), 0);  // x[0, 1]
    }
  }
}

// ------------------------------------------------------------ index checks

struct BadGraph {
  std::string name;
  IVec indptr, indices;
  std::string message;  // exact tail of the message after "<op>: "
};

std::vector<BadGraph> bad_graphs() {
  // V = 3, U = 4, E = 5
  return {
      {"indptr_start", {1, 2, 4, 5}, {0, 1, 2, 3, 0}, "indptr[0] = 1, expected 0"},
      {"indptr_decreasing", {0, 3, 2, 5}, {0, 1, 2, 3, 0}, "indptr[2] = 2 is less than indptr[1] = 3 (it must be non-decreasing)"},
      {"indptr_end_short", {0, 2, 3, 4}, {0, 1, 2, 3, 0}, "indptr[3] = 4, expected E = 5 (indices' length)"},
      {"indptr_end_long", {0, 2, 3, 6}, {0, 1, 2, 3, 0}, "indptr[3] = 6, expected E = 5 (indices' length)"},
      {"index_too_large", {0, 2, 3, 5}, {0, 1, 2, 4, 0}, "indices[3] = 4 is out of range [0, 4)"},
      {"index_negative", {0, 2, 3, 5}, {0, -1, 2, 3, 0}, "indices[1] = -1 is out of range [0, 4)"},
  };
}

TEST(GSpmm, IndexChecksNameThePositionAndValue) {
  for (const BadGraph& b : bad_graphs())
    for (int32_t idt : {KN_INT32, KN_INT64}) {
      SCOPED_TRACE(b.name);
      IndexTensor ip({4}, idt, Layout::sliced(2)), ix({5}, idt, Layout::sliced(2));
      ip.set_values(b.indptr), ix.set_values(b.indices);
      HostTensor x({4, 3}, KN_FLOAT32), y({3, 3}, KN_FLOAT32), dy({3, 3}, KN_FLOAT32), dx({4, 3}, KN_FLOAT32);
      IndexTensor tp({5}, idt), ti({5}, idt), te({5}, idt);
      const kn_tensor ipk = ip.kn(), ixk = ix.kn(), xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn(),
                      tpk = tp.kn(), tik = ti.kn(), tek = te.kn();
      kn_gspmm_params p{KN_GSPMM_COPY_U, KN_GSPMM_SUM, 0};
      kn_status s = kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, nullptr);
      EXPECT_EQ(s, KN_ERR_INVALID_ARGUMENT);
      EXPECT_EQ(std::string(kn_last_error()), "kn_gspmm_forward: " + b.message);
      EXPECT_TRUE(y.outside_untouched("y"));
      EXPECT_EQ(y.get(0), 0.0);  // not written
      s = kn_csr_transpose(&ipk, &ixk, &tpk, &tik, &tek, nullptr);
      EXPECT_EQ(s, KN_ERR_INVALID_ARGUMENT);
      EXPECT_EQ(std::string(kn_last_error()), "kn_csr_transpose: " + b.message);
      // The backward checks the forward graph too (it reads indptr for MEAN and dedge).
      s = kn_gspmm_backward(&p, &dyk, &ipk, &ixk, &tpk, &tik, &tek, nullptr, nullptr, nullptr, &dxk, nullptr,
                            nullptr);
      EXPECT_EQ(s, KN_ERR_INVALID_ARGUMENT);
    }
}

TEST(GSpmm, BackwardChecksTheTransposedGraph) {
  GSpmmTester t;
  t.message(KN_GSPMM_U_MUL_E);
  GSpmmTester::Case c = t.build();
  const GSpmmTester::Out o = t.forward(c);
  ASSERT_EQ(o.status, KN_OK);
  const int64_t E = c.g.E(), V = 23, U = 17;
  struct Bad {
    std::function<void(GSpmmTester::Case&)> mutate;
    std::string message;
  };
  const std::vector<Bad> bads = {
      {[](GSpmmTester::Case& k) { k.t_indptr.set(0, 2); }, "t_indptr[0] = 2, expected 0"},
      {[&](GSpmmTester::Case& k) { k.t_indptr.set(U, E - 1); },
       "t_indptr[" + std::to_string(U) + "] = " + std::to_string(E - 1) + ", expected E = " + std::to_string(E) +
           " (indices' length)"},
      {[&](GSpmmTester::Case& k) { k.t_indices.set(3, V); },
       "t_indices[3] = " + std::to_string(V) + " is out of range [0, " + std::to_string(V) + ")"},
      {[&](GSpmmTester::Case& k) { k.t_edge_ids.set(5, -2); },
       "t_edge_ids[5] = -2 is out of range [0, " + std::to_string(E) + ")"},
      {[&](GSpmmTester::Case& k) { k.indices.set(4, U + 3); },
       "indices[4] = " + std::to_string(U + 3) + " is out of range [0, " + std::to_string(U) + ")"},
  };
  for (const Bad& b : bads) {
    GSpmmTester::Case k = t.build();
    b.mutate(k);
    const GSpmmTester::Grads g = t.backward(k, o.arg);
    EXPECT_EQ(g.status, KN_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(kn_last_error()), "kn_gspmm_backward: " + b.message);
  }
  // Without dx, the transposed graph is not read and not checked.
  GSpmmTester::Case k = t.build();
  k.t_indices.set(3, V);
  EXPECT_EQ(t.backward(k, o.arg, false, true).status, KN_OK) << kn_last_error();
  // skip_index_check: the caller vouches; a wrong t_edge_id that stays in
  // range is not detected (only the scan would catch out-of-range values).
  GSpmmTester::Case k2 = t.build();
  k2.t_indptr.set(0, 1);
  t.skip_check();
  EXPECT_EQ(t.backward(k2, o.arg, false, true).status, KN_OK) << kn_last_error();
}

TEST(GSpmm, SkipIndexCheckSkipsTheScan) {
  // indptr[0] = 1 for a row range that stays inside E: accepted without the
  // scan (rows read edges [1, 2) and [2, 2)), rejected with it.
  IndexTensor ip({3}, KN_INT64), ix({2}, KN_INT64);
  ip.set_values({1, 2, 2});
  ix.set_values({0, 1});
  HostTensor x({2, 2}, KN_FLOAT64), y({2, 2}, KN_FLOAT64);
  x.set_values({1, 2, 3, 4});
  const kn_tensor ipk = ip.kn(), ixk = ix.kn(), xk = x.kn(), yk = y.kn();
  kn_gspmm_params p{KN_GSPMM_COPY_U, KN_GSPMM_SUM, 0};
  EXPECT_EQ(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, nullptr), KN_ERR_INVALID_ARGUMENT);
  p.skip_index_check = 1;
  KN_EXPECT_OK(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, nullptr));
  EXPECT_TRUE(all_equal("y", y.values(), {3, 4, 0, 0}));
}

// ------------------------------------------------------------ validation tables

// Valid float32 calls: V = 3, U = 4, E = 5, F = 2, int64 graph, U_MUL_E + MAX.
struct GCall {
  IndexTensor ip{{4}, KN_INT64}, ix{{5}, KN_INT64}, tp{{5}, KN_INT64}, ti{{5}, KN_INT64}, te{{5}, KN_INT64},
      arg{{3, 2}, KN_INT64};
  HostTensor w{{5}, KN_FLOAT32}, x{{4, 2}, KN_FLOAT32}, y{{3, 2}, KN_FLOAT32}, dy{{3, 2}, KN_FLOAT32},
      dx{{4, 2}, KN_FLOAT32}, de{{5}, KN_FLOAT32};
  OpCall fwd, bwd, tr;
  GCall() {
    ip.set_values({0, 2, 3, 5});
    ix.set_values({0, 1, 2, 3, 0});
    tp.set_values({0, 2, 3, 4, 5});
    ti.set_values({0, 2, 0, 1, 2});
    te.set_values({0, 4, 1, 2, 3});
    arg.fill(0);
    const kn_tensor ipk = ip.kn(), ixk = ix.kn(), tpk = tp.kn(), tik = ti.kn(), tek = te.kn(), ak = arg.kn(),
                    wk = w.kn(), xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn(), dek = de.kn();
    fwd.add("indptr", &ipk), fwd.add("indices", &ixk), fwd.add("edge_values", &wk), fwd.add("x", &xk);
    fwd.add("y", &yk), fwd.add("arg", &ak);
    bwd.add("dy", &dyk), bwd.add("indptr", &ipk), bwd.add("indices", &ixk), bwd.add("t_indptr", &tpk);
    bwd.add("t_indices", &tik), bwd.add("t_edge_ids", &tek), bwd.add("edge_values", &wk), bwd.add("x", &xk);
    bwd.add("arg", &ak), bwd.add("dx", &dxk), bwd.add("dedge", &dek);
    tr.add("indptr", &ipk), tr.add("indices", &ixk), tr.add("t_indptr", &tpk), tr.add("t_indices", &tik);
    tr.add("t_edge_ids", &tek);
  }
};
GCall& gcall() {
  static GCall call;
  return call;
}

kn_gspmm_params g_params{KN_GSPMM_U_MUL_E, KN_GSPMM_MAX, 0};

kn_status invoke_forward(const OpCall& c) {
  return kn_gspmm_forward(&g_params, c.arg("indptr"), c.arg("indices"), c.arg("edge_values"), c.arg("x"),
                          c.arg("y"), c.arg("arg"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_gspmm_backward(&g_params, c.arg("dy"), c.arg("indptr"), c.arg("indices"), c.arg("t_indptr"),
                           c.arg("t_indices"), c.arg("t_edge_ids"), c.arg("edge_values"), c.arg("x"),
                           c.arg("arg"), c.arg("dx"), c.arg("dedge"), c.exec());
}
kn_status invoke_transpose(const OpCall& c) {
  return kn_csr_transpose(c.arg("indptr"), c.arg("indices"), c.arg("t_indptr"), c.arg("t_indices"),
                          c.arg("t_edge_ids"), c.exec());
}

// The generic cases assume float arguments. For index arguments: float
// dtypes are unsupported; int32 for one graph tensor breaks the shared graph
// index dtype (named: that tensor, or indices for indptr); arg may be either.
std::vector<ErrorCase> with_index_args(std::vector<ErrorCase> cases, const std::vector<std::string>& graph,
                                       bool has_arg) {
  std::vector<std::string> idx = graph;
  if (has_arg) idx.push_back("arg");
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  std::vector<ErrorCase> out;
  for (ErrorCase& c : cases) {
    bool drop = false;
    for (const std::string& n : idx)
      drop = drop || c.name == n + "_int32" || c.name == n + "_dtype_mismatch" ||
             c.name.rfind(n + "_aliases_output_", 0) == 0 || ends_with(c.name, "_aliases_output_" + n);
    if (!drop) out.push_back(std::move(c));
  }
  for (const std::string& n : idx) {
    out.push_back({n + "_float32", [n](OpCall& c) { c[n].dtype = KN_FLOAT32; }, KN_ERR_UNSUPPORTED, n});
    out.push_back({n + "_float64", [n](OpCall& c) { c[n].dtype = KN_FLOAT64; }, KN_ERR_UNSUPPORTED, n});
  }
  for (const std::string& n : graph) {
    if (n == "indptr")
      out.push_back({"indptr_int32", [](OpCall& c) { c["indptr"].dtype = KN_INT32; }, KN_ERR_INVALID_ARGUMENT,
                     "indices: dtype int64 does not match indptr's int32"});
    else
      out.push_back({n + "_int32", [n](OpCall& c) { c[n].dtype = KN_INT32; }, KN_ERR_INVALID_ARGUMENT,
                     n + ": dtype int32 does not match indptr's int64"});
  }
  return out;
}

std::vector<ErrorCase> forward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto cases = with_index_args(descriptor_error_cases({{"indptr", true, 1, false, true},
                                                       {"indices", true, 1},
                                                       {"edge_values", true, 1, false, true},
                                                       {"x", true, 2},
                                                       {"y", true, 2, true},
                                                       {"arg", true, 2, true}}),
                               {"indptr", "indices"}, true);
  cases.push_back({"arg_aliases_y", [](OpCall& c) { c["arg"].data = c["y"].data; }, INVALID, "arg: output overlaps y"});
  cases.push_back({"arg_int32", [](OpCall& c) {
                     c["arg"].dtype = KN_INT32;
                     c["arg"].data = nullptr;  // int32 is valid: only the NULL data fails
                   }, INVALID, "arg: data is NULL"});
  cases.push_back({"indptr_empty", [](OpCall& c) { c["indptr"].shape[0] = 0; }, SHAPE,
                   "indptr: expected shape (num_dst + 1,) with at least one element, got (0,)"});
  cases.push_back({"edge_values_wrong_length", [](OpCall& c) { c["edge_values"].shape[0] = 4; }, SHAPE,
                   "edge_values: expected shape (5,) (E from indices), got (4,)"});
  cases.push_back({"edge_values_null_mul_e", [](OpCall& c) { c.set_null("edge_values"); }, INVALID,
                   "edge_values: must not be NULL for p->message = KN_GSPMM_U_MUL_E"});
  cases.push_back({"y_wrong_rows", [](OpCall& c) { c["y"].shape[0] = 4; }, SHAPE,
                   "y: expected shape (3, 2) (num_dst from indptr, F from x), got (4, 2)"});
  cases.push_back({"y_wrong_f", [](OpCall& c) { c["y"].shape[1] = 1; }, SHAPE, "y: expected shape (3, 2)"});
  cases.push_back({"arg_wrong_shape", [](OpCall& c) { c["arg"].shape[1] = 1; }, SHAPE, "arg: expected shape (3, 2)"});
  cases.push_back({"arg_null_max", [](OpCall& c) { c.set_null("arg"); }, INVALID,
                   "arg: must not be NULL for p->reduce = KN_GSPMM_MAX or KN_GSPMM_MIN"});
  cases.push_back({"index_out_of_range", [](OpCall& c) { c["x"].shape[0] = 3; }, INVALID,
                   "indices[3] = 3 is out of range [0, 3)"});
  cases.push_back({"indptr_end", [](OpCall& c) { c["indices"].shape[0] = 4, c["edge_values"].shape[0] = 4; },
                   INVALID, "indptr[3] = 5, expected E = 4 (indices' length)"});
  return cases;
}

std::vector<ErrorCase> backward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto cases = with_index_args(descriptor_error_cases({{"dy", true, 2, false, true},
                                                       {"indptr", true, 1},
                                                       {"indices", true, 1},
                                                       {"t_indptr", false, 1},
                                                       {"t_indices", false, 1},
                                                       {"t_edge_ids", false, 1},
                                                       {"edge_values", false, 1},
                                                       {"x", false, 2},
                                                       {"arg", false, 2},
                                                       {"dx", false, 2, true},
                                                       {"dedge", false, 1, true}}),
                               {"indptr", "indices", "t_indptr", "t_indices", "t_edge_ids"}, true);
  // indptr is not validated first here (dy is): its int32 names indptr's mismatch with... indices.
  for (ErrorCase& c : cases)
    if (c.name == "indptr_int32") c.arg = "indices: dtype int64 does not match indptr's int32";
  cases.push_back({"dedge_aliases_dx", [](OpCall& c) { c["dedge"].data = c["dx"].data; }, INVALID,
                   "dedge: output overlaps dx"});
  cases.push_back({"dy_wrong_rows", [](OpCall& c) { c["dy"].shape[0] = 2; }, SHAPE,
                   "dy: expected shape (3, 2) (num_dst from indptr), got (2, 2)"});
  cases.push_back({"dx_wrong_f", [](OpCall& c) { c["dx"].shape[1] = 1; }, SHAPE,
                   "dx: expected shape (4, 2) (num_src from dx, F from dy), got (4, 1)"});
  cases.push_back({"x_wrong_rows", [](OpCall& c) { c["x"].shape[0] = 3; }, SHAPE,
                   "x: expected shape (4, 2) (num_src from dx, F from dy), got (3, 2)"});
  cases.push_back({"t_indptr_wrong_length", [](OpCall& c) { c["t_indptr"].shape[0] = 4; }, SHAPE,
                   "t_indptr: expected shape (5,) (num_src + 1), got (4,)"});
  cases.push_back({"t_indices_wrong_length", [](OpCall& c) { c["t_indices"].shape[0] = 4; }, SHAPE,
                   "t_indices: expected shape (5,) (E from indices), got (4,)"});
  cases.push_back({"t_edge_ids_wrong_length", [](OpCall& c) { c["t_edge_ids"].shape[0] = 6; }, SHAPE,
                   "t_edge_ids: expected shape (5,) (E from indices), got (6,)"});
  cases.push_back({"dedge_wrong_length", [](OpCall& c) { c["dedge"].shape[0] = 4; }, SHAPE,
                   "dedge: expected shape (5,) (E from indices), got (4,)"});
  cases.push_back({"t_indptr_null_with_dx", [](OpCall& c) { c.set_null("t_indptr"); }, INVALID,
                   "t_indptr: must not be NULL when dx is requested"});
  cases.push_back({"t_indices_null_with_dx", [](OpCall& c) { c.set_null("t_indices"); }, INVALID,
                   "t_indices: must not be NULL when dx is requested"});
  cases.push_back({"t_edge_ids_null_with_dx", [](OpCall& c) { c.set_null("t_edge_ids"); }, INVALID,
                   "t_edge_ids: must not be NULL when dx is requested"});
  cases.push_back({"edge_values_null_with_dx", [](OpCall& c) { c.set_null("edge_values"); }, INVALID,
                   "edge_values: must not be NULL for p->message = KN_GSPMM_U_MUL_E when dx is requested"});
  cases.push_back({"x_null_with_dedge", [](OpCall& c) { c.set_null("x"); }, INVALID,
                   "x: must not be NULL when dedge is requested"});
  cases.push_back({"arg_null_max", [](OpCall& c) { c.set_null("arg"); }, INVALID,
                   "arg: must not be NULL for p->reduce = KN_GSPMM_MAX or KN_GSPMM_MIN"});
  cases.push_back({"arg_wrong_shape", [](OpCall& c) { c["arg"].shape[0] = 2; }, SHAPE,
                   "arg: expected shape (3, 2)"});
  return cases;
}

std::vector<ErrorCase> transpose_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = with_index_args(descriptor_error_cases({{"indptr", true, 1, false, true},
                                                       {"indices", true, 1},
                                                       {"t_indptr", true, 1, true},
                                                       {"t_indices", true, 1, true},
                                                       {"t_edge_ids", true, 1, true}}),
                               {"indptr", "indices", "t_indptr", "t_indices", "t_edge_ids"}, false);
  cases.push_back({"t_indices_aliases_t_indptr", [](OpCall& c) { c["t_indices"].data = c["t_indptr"].data; },
                   KN_ERR_INVALID_ARGUMENT, "t_indices: output overlaps t_indptr"});
  cases.push_back({"t_indptr_empty", [](OpCall& c) { c["t_indptr"].shape[0] = 0; }, SHAPE,
                   "t_indptr: expected shape (num_src + 1,) with at least one element, got (0,)"});
  cases.push_back({"t_indices_wrong_length", [](OpCall& c) { c["t_indices"].shape[0] = 4; }, SHAPE,
                   "t_indices: expected shape (5,) (E from indices), got (4,)"});
  cases.push_back({"t_edge_ids_wrong_length", [](OpCall& c) { c["t_edge_ids"].shape[0] = 3; }, SHAPE,
                   "t_edge_ids: expected shape (5,) (E from indices), got (3,)"});
  cases.push_back({"num_src_too_small", [](OpCall& c) { c["t_indptr"].shape[0] = 4; }, KN_ERR_INVALID_ARGUMENT,
                   "indices[3] = 3 is out of range [0, 3)"});
  return cases;
}

class GSpmmForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(GSpmmForwardErrors, ExactStatusAndMessage) {
  check_error_case(gcall().fwd, invoke_forward, "kn_gspmm_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(GSpmm, GSpmmForwardErrors, ::testing::ValuesIn(forward_cases()), error_case_name);

class GSpmmBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(GSpmmBackwardErrors, ExactStatusAndMessage) {
  check_error_case(gcall().bwd, invoke_backward, "kn_gspmm_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(GSpmm, GSpmmBackwardErrors, ::testing::ValuesIn(backward_cases()), error_case_name);

class CsrTransposeErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(CsrTransposeErrors, ExactStatusAndMessage) {
  check_error_case(gcall().tr, invoke_transpose, "kn_csr_transpose", GetParam());
}
INSTANTIATE_TEST_SUITE_P(GSpmm, CsrTransposeErrors, ::testing::ValuesIn(transpose_cases()), error_case_name);

// Params and the NULL-iff rules that depend on them.
TEST(GSpmm, ParamErrors) {
  GCall& g = gcall();
  const OpCall &f = g.fwd, &b = g.bwd;
  auto fwd = [&](const kn_gspmm_params* p, const kn_tensor* ev, const kn_tensor* arg) {
    return kn_gspmm_forward(p, f.arg("indptr"), f.arg("indices"), ev, f.arg("x"), f.arg("y"), arg, nullptr);
  };
  auto bwd = [&](const kn_gspmm_params* p, const kn_tensor* ev, const kn_tensor* arg, const kn_tensor* de) {
    return kn_gspmm_backward(p, b.arg("dy"), b.arg("indptr"), b.arg("indices"), b.arg("t_indptr"),
                             b.arg("t_indices"), b.arg("t_edge_ids"), ev, b.arg("x"), arg, b.arg("dx"), de,
                             nullptr);
  };
  auto expect = [](kn_status s, const std::string& fragment) {
    EXPECT_EQ(s, KN_ERR_INVALID_ARGUMENT) << kn_status_string(s);
    EXPECT_NE(std::string(kn_last_error()).find(fragment), std::string::npos) << kn_last_error();
  };
  const kn_tensor *ev = f.arg("edge_values"), *arg = f.arg("arg"), *de = b.arg("dedge");
  expect(fwd(nullptr, ev, arg), "kn_gspmm_forward: p: must not be NULL");
  expect(bwd(nullptr, ev, arg, de), "kn_gspmm_backward: p: must not be NULL");
  const kn_gspmm_params bad[] = {{2, 0, 0}, {-1, 0, 0}, {1, 4, 0}, {1, -1, 0}, {1, 2, 2}, {1, 2, -1}};
  const char* field[] = {"p->message", "p->message", "p->reduce", "p->reduce", "p->skip_index_check",
                         "p->skip_index_check"};
  for (int i = 0; i < 6; ++i) {
    expect(fwd(&bad[i], ev, arg), std::string("kn_gspmm_forward: ") + field[i] + ": expected a value in");
    expect(bwd(&bad[i], ev, arg, de), std::string("kn_gspmm_backward: ") + field[i] + ": expected a value in");
  }
  const kn_gspmm_params copy_max{KN_GSPMM_COPY_U, KN_GSPMM_MAX, 0}, mul_sum{KN_GSPMM_U_MUL_E, KN_GSPMM_SUM, 0};
  expect(fwd(&copy_max, ev, arg),
         "kn_gspmm_forward: edge_values: must be NULL for p->message = KN_GSPMM_COPY_U, got a tensor");
  KN_EXPECT_OK(fwd(&copy_max, nullptr, arg));
  expect(fwd(&mul_sum, ev, arg),
         "kn_gspmm_forward: arg: must be NULL for p->reduce = KN_GSPMM_SUM or KN_GSPMM_MEAN, got a tensor");
  KN_EXPECT_OK(fwd(&mul_sum, ev, nullptr));
  expect(bwd(&copy_max, nullptr, arg, de),
         "kn_gspmm_backward: dedge: must be NULL for p->message = KN_GSPMM_COPY_U (there are no edge values)");
  expect(bwd(&copy_max, ev, arg, nullptr),
         "kn_gspmm_backward: edge_values: must be NULL for p->message = KN_GSPMM_COPY_U, got a tensor");
  KN_EXPECT_OK(bwd(&copy_max, nullptr, arg, nullptr));
  expect(bwd(&mul_sum, ev, arg, de),
         "kn_gspmm_backward: arg: must be NULL for p->reduce = KN_GSPMM_SUM or KN_GSPMM_MEAN, got a tensor");
  KN_EXPECT_OK(bwd(&mul_sum, ev, nullptr, de));
}

}  // namespace
}  // namespace kntest

namespace kntest {
namespace {

// The O(E) scan runs in parallel chunks on big graphs: the first offending
// position is reported whatever the thread count.
TEST(GSpmm, ParallelScanReportsTheFirstBadPosition) {
  const int64_t E = 300000, V = 1000, U = 50;
  IndexTensor ip({V + 1}, KN_INT32), ix({E}, KN_INT32);
  for (int64_t v = 0; v <= V; ++v) ip.set(v, v * (E / V));
  for (int64_t k = 0; k < E; ++k) ix.set(k, k % U);
  HostTensor x({U, 1}, KN_FLOAT32), y({V, 1}, KN_FLOAT32);
  const kn_tensor ipk = ip.kn(), ixk = ix.kn(), xk = x.kn(), yk = y.kn();
  const kn_gspmm_params p{KN_GSPMM_COPY_U, KN_GSPMM_SUM, 0};
  for (int32_t threads : {1, 2}) {
    const kn_exec ex = make_exec(threads);
    KN_EXPECT_OK(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, &ex));
    ix.set(250000, U);  // in the last chunk
    EXPECT_EQ(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, &ex), KN_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(kn_last_error(), "kn_gspmm_forward: indices[250000] = 50 is out of range [0, 50)");
    ix.set(140000, -3);  // earlier, in another chunk
    EXPECT_EQ(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, &ex), KN_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(kn_last_error(), "kn_gspmm_forward: indices[140000] = -3 is out of range [0, 50)");
    ix.set(140000, 0), ix.set(250000, 0);
    ip.set(700, ip.get(699) - 1);
    EXPECT_EQ(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, nullptr, &ex), KN_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(kn_last_error(),
                 "kn_gspmm_forward: indptr[700] = 209699 is less than indptr[699] = 209700 (it must be non-decreasing)");
    ip.set(700, 700 * (E / V));
  }
}

}  // namespace
}  // namespace kntest

namespace kntest {
namespace {

// An int32 arg cannot hold edge positions >= 2^31: rejected from the shapes
// alone (the huge indices descriptor is never read: the check comes first).
TEST(GSpmm, Int32ArgNeedsEdgePositionsBelow2To31) {
  int64_t storage[4] = {0, 0, 0, 0};
  IndexTensor ip({2}, KN_INT64);
  ip.set_values({0, 0});
  kn_tensor ipk = ip.kn();
  kn_tensor ixk = ipk;
  ixk.data = storage, ixk.shape[0] = int64_t(1) << 31, ixk.strides[0] = 1;
  HostTensor x({3, 2}, KN_FLOAT32), y({1, 2}, KN_FLOAT32);
  IndexTensor arg({1, 2}, KN_INT32);
  const kn_tensor xk = x.kn(), yk = y.kn(), ak = arg.kn();
  const kn_gspmm_params p{KN_GSPMM_COPY_U, KN_GSPMM_MAX, 0};
  EXPECT_EQ(kn_gspmm_forward(&p, &ipk, &ixk, nullptr, &xk, &yk, &ak, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(kn_last_error(),
               "kn_gspmm_forward: arg: int32 cannot hold the edge positions of E = 2147483648 edges (use int64)");
}

}  // namespace
}  // namespace kntest
