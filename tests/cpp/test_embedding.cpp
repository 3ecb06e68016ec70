// kn_embedding_forward / _backward / _renorm through the C ABI, against a naive
// double-precision reference written from the definitions (below), with the shared
// machinery of tensor_util.hpp: random shapes (0-d and size-0 indices included), int32
// and int64 indices, transposed / sliced / reversed / broadcast operands, padding_idx,
// scale_grad_by_freq, many repeated indices, 1 vs 2 vs 3 threads bitwise for the
// backward, renorm at norm_type 1, 2, 3.5 and inf, and every validation error with
// nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "tensor_util.hpp"
#include "kernels/embedding.h"

namespace kntest {
namespace {

using Vec = std::vector<double>;
using Idx = std::vector<int64_t>;

// ------------------------------------------------------------ reference

// y[i, j] = w[idx[i], j]; w is (V, D) row-major, y (N, D).
Vec ref_forward(const Vec& w, int64_t D, const Idx& idx) {
  Vec y;
  for (int64_t v : idx)
    for (int64_t j = 0; j < D; ++j) y.push_back(w[v * D + j]);
  return y;
}

// dw[v, j] = sum over i with idx[i] == v (v != pad) of dy[i, j], / count(v) when scale.
// mag: the same sums of |dy| (the size of the terms, for the tolerance).
Vec ref_backward(const Vec& dy, int64_t V, int64_t D, const Idx& idx, int64_t pad, bool scale,
                 Vec* mag = nullptr) {
  Vec dw(static_cast<size_t>(V * D), 0.0), m(dw.size(), 0.0);
  std::map<int64_t, int64_t> count;
  for (int64_t v : idx) ++count[v];
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t v = idx[i];
    if (v == pad) continue;
    for (int64_t j = 0; j < D; ++j) {
      dw[v * D + j] += dy[i * D + j];
      m[v * D + j] += std::fabs(dy[i * D + j]);
    }
  }
  if (scale)
    for (const auto& [v, c] : count)
      for (int64_t j = 0; j < D; ++j) dw[v * D + j] /= static_cast<double>(c), m[v * D + j] /= static_cast<double>(c);
  if (mag) *mag = m;
  return dw;
}

// torch.embedding_renorm_: each distinct row v of idx with ||w[v]||_p > max_norm is
// scaled by max_norm / (norm + 1e-7) (p = inf: max |x|).
Vec ref_renorm(Vec w, int64_t D, const Idx& idx, double max_norm, double p) {
  for (int64_t v : std::set<int64_t>(idx.begin(), idx.end())) {
    double norm = 0;
    for (int64_t j = 0; j < D; ++j) {
      const double a = std::fabs(w[v * D + j]);
      norm = std::isinf(p) ? std::max(norm, a) : norm + std::pow(a, p);
    }
    if (!std::isinf(p)) norm = std::pow(norm, 1.0 / p);
    if (norm > max_norm)
      for (int64_t j = 0; j < D; ++j) w[v * D + j] *= max_norm / (norm + 1e-7);
  }
  return w;
}

// ------------------------------------------------------------ the tester

// EmbeddingTester().rows(50).dim(8).indices({6, 4}).index_dtype(KN_INT32)
//     .padding_idx(3).scale_grad_by_freq().transpose("weight").test_backward();
// Operands: weight (V,D), indices (*), y (*,D); dy (*,D), dweight (V,D).
class EmbeddingTester : public TesterBase<EmbeddingTester> {
 public:
  EmbeddingTester& rows(int64_t v) { V_ = v; return *this; }
  EmbeddingTester& dim(int64_t d) { D_ = d; return *this; }
  EmbeddingTester& indices(Shape s) { ishape_ = std::move(s); return *this; }
  EmbeddingTester& index_dtype(int32_t d) { idtype_ = d; return *this; }
  EmbeddingTester& padding_idx(int64_t p) { pad_ = p; return *this; }
  EmbeddingTester& scale_grad_by_freq(bool s = true) { scale_ = s; return *this; }
  // Indices drawn from the first `k` rows only: many repeats.
  EmbeddingTester& distinct(int64_t k) { distinct_ = k; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << "embedding V=" << V_ << " D=" << D_ << " indices=" << shape_str(ishape_)
      << (idtype_ == KN_INT32 ? " int32" : " int64") << " pad=" << pad_ << (scale_ ? " scale" : "")
      << (distinct_ ? " distinct=" + std::to_string(distinct_) : "") << (null_exec_ ? " ex=NULL" : "")
      << " " << describe_common();
    return o.str();
  }

  Shape row_shape() const {
    Shape s = ishape_;
    s.push_back(D_);
    return s;
  }

  IndexTensor make_indices(Rng& rng) const {
    IndexTensor idx(ishape_, idtype_, layout_of("indices"));
    const int64_t hi = std::min(V_, distinct_ ? distinct_ : V_) - 1;
    for (int64_t i = 0; i < idx.numel(); ++i) idx.set(i, rng.integer(0, std::max<int64_t>(hi, 0)));
    // The padding row is looked up (when there is one), so that its positions are skipped.
    if (idx.numel() > 2 && pad_ >= 0) idx.set(1, pad_);
    return idx;
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor w = make("weight", {V_, D_});
    w.fill_random(rng);
    const IndexTensor idx = make_indices(rng);
    HostTensor y = make_output("y", row_shape());
    const auto w_raw = w.raw();
    const Idx iv = idx.values();
    const kn_tensor wk = w.kn(), ik = idx.kn(), yk = y.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_embedding_forward(&wk, &ik, &yk, exec_ptr(ex)));
    EXPECT_TRUE(all_equal("y", y.values(), ref_forward(w.values(), D_, iv)));  // a copy: exact
    EXPECT_TRUE(y.outside_untouched("y"));
    EXPECT_EQ(w.raw(), w_raw) << "weight was modified";
    EXPECT_EQ(idx.values(), iv) << "indices were modified";
    EXPECT_TRUE(idx.outside_untouched("indices"));
  }

  // Returns dweight (logical order), for bitwise comparisons between thread counts.
  Vec test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    const IndexTensor idx = make_indices(rng);
    HostTensor dy = make("dy", row_shape());
    dy.fill_random(rng);
    HostTensor dw = make_output("dweight", {V_, D_});
    const auto dy_raw = dy.raw();
    const Idx iv = idx.values();
    const kn_tensor dyk = dy.kn(), ik = idx.kn(), dwk = dw.kn();
    const kn_embedding_params p{pad_, scale_ ? 1 : 0};
    const kn_exec ex = exec();
    KN_EXPECT_OK(kn_embedding_backward(&p, &dyk, &ik, &dwk, exec_ptr(ex)));
    Vec mag;
    const Vec want = ref_backward(dy.values(), V_, D_, iv, pad_, scale_, &mag);
    int64_t most = 1;  // the most terms in one sum
    std::map<int64_t, int64_t> count;
    for (int64_t v : iv) most = std::max(most, ++count[v]);
    EXPECT_TRUE(all_close("dweight", dw.values(), want, mag, rtol(most)));
    if (pad_ >= 0) {
      for (int64_t j = 0; j < D_; ++j) EXPECT_EQ(dw.get(pad_ * D_ + j), 0.0) << "padding row, column " << j;
    }
    EXPECT_TRUE(dw.outside_untouched("dweight"));
    EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
    EXPECT_EQ(idx.values(), iv) << "indices were modified";
    return dw.values();
  }

  // The backward against central differences of loss = <forward(w), g> (float64).
  void test_gradient() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor w = HostTensor({V_, D_}, KN_FLOAT64, layout_of("weight"));
    w.fill_random(rng);
    const IndexTensor idx = make_indices(rng);
    HostTensor g(row_shape(), KN_FLOAT64), y(row_shape(), KN_FLOAT64), dw({V_, D_}, KN_FLOAT64);
    g.fill_random(rng);
    const kn_tensor ik = idx.kn(), gk = g.kn(), yk = y.kn(), dwk = dw.kn();
    auto loss = [&] {
      const kn_tensor wk = w.kn();
      EXPECT_EQ(kn_embedding_forward(&wk, &ik, &yk, nullptr), KN_OK) << kn_last_error();
      return dot(y.values(), g.values());
    };
    const kn_embedding_params p{-1, 0};
    KN_ASSERT_OK(kn_embedding_backward(&p, &gk, &ik, &dwk, nullptr));
    EXPECT_TRUE(all_close("dweight vs finite differences", dw.values(), numeric_gradient(w, loss), {},
                          1e-6, 1e-6));
  }

  void test_renorm(double max_norm, double norm_type) const {
    SCOPED_TRACE(describe() + " max_norm=" + std::to_string(max_norm) + " norm_type=" + std::to_string(norm_type));
    Rng rng(seed_);
    HostTensor w = make("weight", {V_, D_});
    w.fill_random(rng, -2, 2);
    const IndexTensor idx = make_indices(rng);
    const Vec before = w.values();
    const Idx iv = idx.values();
    const kn_tensor wk = w.kn(), ik = idx.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_embedding_renorm(max_norm, norm_type, &wk, &ik, exec_ptr(ex)));
    const Vec want = ref_renorm(before, D_, iv, max_norm, norm_type);
    EXPECT_TRUE(all_close("weight", w.values(), want, abs_of(before), 8 * rtol(D_)));
    // Rows not looked up are bitwise unchanged; looked-up rows that were scaled have
    // norm <= max_norm (up to rounding).
    const std::set<int64_t> used(iv.begin(), iv.end());
    const Vec after = w.values();
    for (int64_t v = 0; v < V_; ++v)
      if (!used.count(v)) {
        for (int64_t j = 0; j < D_; ++j) ASSERT_EQ(after[v * D_ + j], before[v * D_ + j]) << "row " << v;
      }
    EXPECT_TRUE(w.outside_untouched("weight"));
  }

 private:
  int64_t V_ = 20, D_ = 7;
  Shape ishape_ = {5, 3};
  int32_t idtype_ = KN_INT64;
  int64_t pad_ = -1;
  bool scale_ = false;
  int64_t distinct_ = 0;
};

using Case = TesterCase<EmbeddingTester>;

std::vector<Case> embedding_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"contiguous", [](EmbeddingTester&) {}},
      {"int32", [](EmbeddingTester& t) { t.index_dtype(KN_INT32); }},
      {"indices_0d", [](EmbeddingTester& t) { t.indices({}); }},
      {"indices_1d", [](EmbeddingTester& t) { t.indices({11}); }},
      {"indices_7d", [](EmbeddingTester& t) { t.indices({2, 1, 2, 3, 1, 2, 2}); }},
      {"indices_size0", [](EmbeddingTester& t) { t.indices({0}); }},
      {"indices_size0_inner", [](EmbeddingTester& t) { t.indices({3, 0, 2}); }},
      {"dim0", [](EmbeddingTester& t) { t.dim(0); }},
      {"one_row", [](EmbeddingTester& t) { t.rows(1); }},
      {"dim1", [](EmbeddingTester& t) { t.dim(1).indices({9}); }},
      {"transposed_weight", [T](EmbeddingTester& t) { t.layout("weight", T); }},
      {"sliced_weight", [S](EmbeddingTester& t) { t.layout("weight", S); }},
      {"reversed_weight", [R](EmbeddingTester& t) { t.layout("weight", R); }},
      {"broadcast_weight_columns", [](EmbeddingTester& t) { t.broadcast("weight", 2u); }},
      {"transposed_indices", [T](EmbeddingTester& t) { t.indices({4, 6}).layout("indices", T); }},
      {"reversed_sliced_indices", [S](EmbeddingTester& t) { t.indices({4, 6}).layout("indices", S.r()); }},
      {"broadcast_indices", [](EmbeddingTester& t) { t.indices({4, 6}).broadcast("indices", 1u); }},
      {"transposed_outputs", [T](EmbeddingTester& t) { t.indices({3, 4}).layout("y", T).layout("dweight", T); }},
      {"sliced_outputs", [S](EmbeddingTester& t) { t.layout("y", S).layout("dweight", S); }},
      {"reversed_outputs", [R](EmbeddingTester& t) { t.layout("y", R).layout("dweight", R); }},
      {"transposed_dy", [T](EmbeddingTester& t) { t.indices({3, 4}).layout("dy", T); }},
      {"sliced_reversed_dy", [S](EmbeddingTester& t) { t.layout("dy", S.r()); }},
      {"mixed", [T, S, R](EmbeddingTester& t) {
         t.indices({3, 5}).index_dtype(KN_INT32).layout("weight", T.s(2)).layout("indices", R)
             .layout("y", S).layout("dy", T.r()).layout("dweight", T);
       }},
      {"padding_idx", [](EmbeddingTester& t) { t.padding_idx(3).distinct(6); }},
      {"padding_idx_0", [](EmbeddingTester& t) { t.padding_idx(0).distinct(4); }},
      {"padding_idx_last", [](EmbeddingTester& t) { t.padding_idx(19); }},
      {"scale_grad_by_freq", [](EmbeddingTester& t) { t.scale_grad_by_freq().distinct(5).indices({8, 7}); }},
      {"scale_and_padding", [](EmbeddingTester& t) { t.scale_grad_by_freq().padding_idx(2).distinct(5).indices({8, 7}); }},
      {"many_repeats", [](EmbeddingTester& t) { t.rows(40).dim(33).indices({50, 41}).distinct(3); }},
      {"threads_2_large", [](EmbeddingTester& t) { t.rows(3000).dim(64).indices({64, 64}).threads(2); }},
      {"threads_3_repeats_strided", [S](EmbeddingTester& t) {
         t.rows(2000).dim(40).indices({100, 41}).distinct(50).threads(3).layout("dy", S).layout("dweight", S).scale_grad_by_freq();
       }},
      {"exec_null", [](EmbeddingTester& t) { t.null_exec(); }},
  };
}

class EmbeddingCases : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  EmbeddingTester tester() const {
    EmbeddingTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};
TEST_P(EmbeddingCases, Forward) { tester().test_forward(); }
TEST_P(EmbeddingCases, Backward) { tester().test_backward(); }
TEST_P(EmbeddingCases, Renorm) {
  EmbeddingTester t = tester();
  // Broadcast weight cannot be written in place (its rows overlap).
  if (t.layout_of("weight").broadcast) GTEST_SKIP() << "weight is an output of renorm";
  t.test_renorm(1.0, 2.0);
}
INSTANTIATE_TEST_SUITE_P(Embedding, EmbeddingCases,
                         ::testing::Combine(::testing::ValuesIn(embedding_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<EmbeddingCases::ParamType>);

// 20 random shapes and layouts from fixed seeds.
TEST(Embedding, RandomShapesAndLayouts) {
  Rng rng(777);
  for (int trial = 0; trial < 20; ++trial) {
    const int nd = static_cast<int>(rng.integer(0, 3));
    Shape s;
    for (int d = 0; d < nd; ++d) s.push_back(rng.integer(0, 6));
    EmbeddingTester t;
    t.rows(rng.integer(1, 30)).dim(rng.integer(0, 9)).indices(s).seed(1000 + trial)
        .index_dtype(rng.coin() ? KN_INT32 : KN_INT64).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
        .threads(static_cast<int32_t>(rng.integer(1, 3)));
    t.layout("weight", random_layout(rng, 2, true)).layout("indices", random_layout(rng, nd, true))
        .layout("dy", random_layout(rng, nd + 1, true)).layout("y", random_layout(rng, nd + 1, false))
        .layout("dweight", random_layout(rng, 2, false));
    if (rng.coin()) t.scale_grad_by_freq();
    if (rng.coin()) t.distinct(3);
    t.test_forward();
    t.test_backward();
  }
}

TEST(Embedding, GradientMatchesFiniteDifferences) {
  EmbeddingTester().rows(6).dim(4).indices({3, 4}).distinct(4).test_gradient();
  EmbeddingTester().rows(5).dim(3).indices({7}).layout("weight", Layout::transpose()).test_gradient();
}

// The backward's bits do not depend on the thread count (each row is summed in position
// order by one thread), for every dtype, with many repeats and with strided operands.
TEST(Embedding, BackwardBitwiseIndependentOfThreads) {
  for (int32_t dt : {KN_FLOAT32, KN_FLOAT64})
    for (bool scale : {false, true})
      for (int64_t distinct : {int64_t(0), int64_t(7), int64_t(300)}) {
        auto run = [&](int32_t threads, bool strided) {
          EmbeddingTester t;
          t.rows(5000).dim(48).indices({128, 64}).distinct(distinct).dtype(dt).threads(threads);
          if (scale) t.scale_grad_by_freq().padding_idx(2);
          if (strided) t.layout("dy", Layout::transpose()).layout("dweight", Layout::sliced(2));
          return t.test_backward();
        };
        const Vec one = run(1, false);
        EXPECT_TRUE(all_equal("2 threads vs 1", run(2, false), one));
        EXPECT_TRUE(all_equal("3 threads vs 1", run(3, false), one));
        EXPECT_TRUE(all_equal("2 threads strided vs 1", run(2, true), one));
      }
}

// float32 sums in position order from 0, as torch's zeros + index_add_: the sum of the
// dy rows of one index is exactly that float sequence (not the double one).
TEST(Embedding, BackwardSumsInPositionOrderInT) {
  const std::vector<float> d = {1e8f, 1.0f, -1e8f, 1.0f};  // (1e8 + 1) - 1e8 + 1 = 1 in float
  std::vector<float> dw(3, -7.0f);
  std::vector<int64_t> idx = {1, 1, 1, 1};
  kn_tensor dyk{}, ik{}, dwk{};
  dyk.data = const_cast<float*>(d.data()), dyk.dtype = KN_FLOAT32, dyk.device_type = KN_DEVICE_CPU;
  dyk.ndim = 2, dyk.shape[0] = 4, dyk.shape[1] = 1, dyk.strides[0] = 1, dyk.strides[1] = 1;
  ik.data = idx.data(), ik.dtype = KN_INT64, ik.device_type = KN_DEVICE_CPU, ik.ndim = 1, ik.shape[0] = 4, ik.strides[0] = 1;
  dwk.data = dw.data(), dwk.dtype = KN_FLOAT32, dwk.device_type = KN_DEVICE_CPU;
  dwk.ndim = 2, dwk.shape[0] = 3, dwk.shape[1] = 1, dwk.strides[0] = 1, dwk.strides[1] = 1;
  const kn_embedding_params p{-1, 0};
  KN_ASSERT_OK(kn_embedding_backward(&p, &dyk, &ik, &dwk, nullptr));
  float want = 0.0f;
  for (float x : d) want += x;
  EXPECT_EQ(dw[1], want);
  EXPECT_EQ(dw[0], 0.0f);
  EXPECT_EQ(dw[2], 0.0f);
}

TEST(Embedding, RenormNormTypes) {
  for (int32_t dt : {KN_FLOAT32, KN_FLOAT64})
    for (double p : {1.0, 2.0, 3.5, std::numeric_limits<double>::infinity()})
      for (double max_norm : {0.0, 0.5, 1.5, 100.0}) {
        EmbeddingTester().rows(30).dim(9).indices({6, 5}).distinct(12).dtype(dt).test_renorm(max_norm, p);
        EmbeddingTester().rows(30).dim(9).indices({40}).distinct(6).dtype(dt).index_dtype(KN_INT32)
            .layout("weight", Layout::transpose().r()).threads(2).test_renorm(max_norm, p);
      }
  EmbeddingTester().rows(3000).dim(64).indices({64, 64}).threads(2).test_renorm(2.0, 2.0);
}

// A NaN in a row gives a NaN norm, which is not > max_norm: the row stays (torch's
// `norm > max_norm` too).
TEST(Embedding, RenormLeavesNanRows) {
  std::vector<double> w = {3, 4, std::nan(""), 9, 6, 8};
  std::vector<int32_t> idx = {0, 1, 2, 2};
  kn_tensor wk{}, ik{};
  wk.data = w.data(), wk.dtype = KN_FLOAT64, wk.device_type = KN_DEVICE_CPU;
  wk.ndim = 2, wk.shape[0] = 3, wk.shape[1] = 2, wk.strides[0] = 2, wk.strides[1] = 1;
  ik.data = idx.data(), ik.dtype = KN_INT32, ik.device_type = KN_DEVICE_CPU, ik.ndim = 1, ik.shape[0] = 4, ik.strides[0] = 1;
  KN_ASSERT_OK(kn_embedding_renorm(1.0, 2.0, &wk, &ik, nullptr));
  EXPECT_DOUBLE_EQ(w[0], 3 / (5 + 1e-7));
  EXPECT_DOUBLE_EQ(w[1], 4 / (5 + 1e-7));
  EXPECT_TRUE(std::isnan(w[2]));
  EXPECT_EQ(w[3], 9.0);
  EXPECT_DOUBLE_EQ(w[4], 6 / (10 + 1e-7));
}

// ------------------------------------------------------------ validation

struct EmbeddingCall {
  HostTensor w{{10, 5}, KN_FLOAT32}, y{{3, 4, 5}, KN_FLOAT32}, dy{{3, 4, 5}, KN_FLOAT32},
      dw{{10, 5}, KN_FLOAT32}, rw{{10, 5}, KN_FLOAT32};
  IndexTensor idx{{3, 4}, KN_INT64};
  OpCall forward, backward, renorm;
  EmbeddingCall() {
    Rng rng(5);
    w.fill_random(rng), dy.fill_random(rng), rw.fill_random(rng);
    for (int64_t i = 0; i < idx.numel(); ++i) idx.set(i, (i * 7) % 10);
    const kn_tensor wk = w.kn(), yk = y.kn(), dyk = dy.kn(), dwk = dw.kn(), ik = idx.kn(), rwk = rw.kn();
    forward.add("weight", &wk), forward.add("indices", &ik), forward.add("y", &yk);
    backward.add("dy", &dyk), backward.add("indices", &ik), backward.add("dweight", &dwk);
    renorm.add("indices", &ik), renorm.add("weight", &rwk);
  }
};
EmbeddingCall& embedding_call() {
  static EmbeddingCall call;
  return call;
}

kn_status invoke_forward(const OpCall& c) {
  return kn_embedding_forward(c.arg("weight"), c.arg("indices"), c.arg("y"), c.exec());
}
const kn_embedding_params kParams{-1, 0};
kn_status invoke_backward(const OpCall& c) {
  return kn_embedding_backward(&kParams, c.arg("dy"), c.arg("indices"), c.arg("dweight"), c.exec());
}
kn_status invoke_renorm(const OpCall& c) {
  return kn_embedding_renorm(1.0, 2.0, c.arg("weight"), c.arg("indices"), c.exec());
}

// The checks of the indices argument (its dtype rules differ from the floats').
void add_index_cases(std::vector<ErrorCase>& cases) {
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT, UNSUPPORTED = KN_ERR_UNSUPPORTED;
  cases.push_back({"indices_null", [](OpCall& c) { c.set_null("indices"); }, INVALID, "indices"});
  cases.push_back({"indices_ndim_too_large", [](OpCall& c) { c["indices"].ndim = KN_MAX_DIMS + 1; }, INVALID, "indices"});
  cases.push_back({"indices_ndim_negative", [](OpCall& c) { c["indices"].ndim = -1; }, INVALID, "indices"});
  cases.push_back({"indices_negative_shape", [](OpCall& c) { c["indices"].shape[0] = -2; }, INVALID, "indices"});
  cases.push_back({"indices_float32", [](OpCall& c) { c["indices"].dtype = KN_FLOAT32; }, UNSUPPORTED, "indices"});
  cases.push_back({"indices_float64", [](OpCall& c) { c["indices"].dtype = KN_FLOAT64; }, UNSUPPORTED, "indices"});
  cases.push_back({"indices_uint8", [](OpCall& c) { c["indices"].dtype = KN_UINT8; }, UNSUPPORTED, "indices"});
  cases.push_back({"indices_unknown_dtype", [](OpCall& c) { c["indices"].dtype = 99; }, INVALID, "indices"});
  cases.push_back({"indices_null_data", [](OpCall& c) { c["indices"].data = nullptr; }, INVALID, "indices"});
  cases.push_back({"indices_unknown_device", [](OpCall& c) { c["indices"].device_type = 7; }, INVALID, "indices"});
  cases.push_back({"indices_extent_overflow", [](OpCall& c) {
                     c["indices"].shape[0] = int64_t(1) << 40;
                     c["indices"].strides[0] = int64_t(1) << 40;
                   }, INVALID, "indices"});
}

std::vector<ErrorCase> forward_error_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto cases = descriptor_error_cases({{"weight", true, 2, false, true}, {"y", true, -1, true}});
  add_index_cases(cases);
  cases.push_back({"indices_device_mismatch", [](OpCall& c) { c["indices"].device_type = KN_DEVICE_CUDA; }, INVALID, "indices"});
  cases.push_back({"indices_8d", [](OpCall& c) {
                     kn_tensor& t = c["indices"];
                     t.ndim = 8;
                     for (int d = 2; d < 8; ++d) t.shape[d] = 1, t.strides[d] = 1;
                   }, SHAPE, "indices"});
  cases.push_back({"y_wrong_dim", [](OpCall& c) { c["y"].shape[2] = 4; }, SHAPE, "y"});
  cases.push_back({"y_wrong_leading", [](OpCall& c) { c["y"].shape[0] = 2; }, SHAPE, "y"});
  cases.push_back({"y_too_few_dims", [](OpCall& c) { c["y"].ndim = 2; }, SHAPE, "y"});
  cases.push_back({"y_overlaps_indices", [](OpCall& c) { c["y"].data = c["indices"].data; }, INVALID, "y"});
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH, INVALID = KN_ERR_INVALID_ARGUMENT;
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"dweight", true, 2, true}});
  add_index_cases(cases);
  cases.push_back({"indices_device_mismatch", [](OpCall& c) { c["indices"].device_type = KN_DEVICE_CUDA; }, INVALID, "indices"});
  cases.push_back({"dy_wrong_dim", [](OpCall& c) { c["dy"].shape[2] = 4; }, SHAPE, "dy"});
  cases.push_back({"dy_wrong_leading", [](OpCall& c) { c["dy"].shape[1] = 3; }, SHAPE, "dy"});
  cases.push_back({"dweight_overlaps_indices", [](OpCall& c) { c["dweight"].data = c["indices"].data; }, INVALID, "dweight"});
  return cases;
}

std::vector<ErrorCase> renorm_error_cases() {
  auto cases = descriptor_error_cases({{"weight", true, 2, true, true}});
  add_index_cases(cases);
  cases.push_back({"weight_device_mismatch", [](OpCall& c) { c["weight"].device_type = KN_DEVICE_CUDA; }, KN_ERR_INVALID_ARGUMENT, "weight"});
  cases.push_back({"weight_overlaps_indices", [](OpCall& c) { c["weight"].data = c["indices"].data; }, KN_ERR_INVALID_ARGUMENT, "weight"});
  return cases;
}

class EmbeddingForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(EmbeddingForwardErrors, ExactStatusAndMessage) {
  check_error_case(embedding_call().forward, invoke_forward, "kn_embedding_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Embedding, EmbeddingForwardErrors, ::testing::ValuesIn(forward_error_cases()), error_case_name);

class EmbeddingBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(EmbeddingBackwardErrors, ExactStatusAndMessage) {
  check_error_case(embedding_call().backward, invoke_backward, "kn_embedding_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Embedding, EmbeddingBackwardErrors, ::testing::ValuesIn(backward_error_cases()), error_case_name);

class EmbeddingRenormErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(EmbeddingRenormErrors, ExactStatusAndMessage) {
  check_error_case(embedding_call().renorm, invoke_renorm, "kn_embedding_renorm", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Embedding, EmbeddingRenormErrors, ::testing::ValuesIn(renorm_error_cases()), error_case_name);

// ------------------------------------------------------------ bad values, nothing written

// A fresh call with one bad index at logical position `bad`: every entry point fails
// with KN_ERR_INVALID_ARGUMENT naming that position and writes nothing.
void expect_bad_index(const Shape& ishape, Layout il, int32_t idtype, int64_t bad, int64_t value,
                      const std::string& where) {
  SCOPED_TRACE(shape_str(ishape) + " " + il.name() + " bad position " + std::to_string(bad));
  const int64_t V = 50, D = 3;
  Shape rs = ishape;
  rs.push_back(D);
  Rng rng(9);
  IndexTensor idx(ishape, idtype, il);
  for (int64_t i = 0; i < idx.numel(); ++i) idx.set(i, rng.integer(0, V - 1));
  idx.set(bad, value);
  HostTensor w({V, D}, KN_FLOAT32), y(rs, KN_FLOAT32), dy(rs, KN_FLOAT32), dw({V, D}, KN_FLOAT32);
  w.fill_random(rng), dy.fill_random(rng), y.fill(std::nan("")), dw.fill(std::nan(""));
  const auto w_raw = w.raw(), y_raw = y.raw(), dw_raw = dw.raw();
  const kn_tensor wk = w.kn(), ik = idx.kn(), yk = y.kn(), dyk = dy.kn(), dwk = dw.kn();
  const std::string msg = where + " = " + std::to_string(value) + " is out of range for ";
  for (int32_t threads : {1, 2}) {
    const kn_exec ex = make_exec(threads);
    EXPECT_EQ(kn_embedding_forward(&wk, &ik, &yk, &ex), KN_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(kn_last_error()), "kn_embedding_forward: " + msg + "weight with 50 rows");
    EXPECT_EQ(y.raw(), y_raw) << "y written by a failing call";
    const kn_embedding_params p{-1, 1};
    EXPECT_EQ(kn_embedding_backward(&p, &dyk, &ik, &dwk, &ex), KN_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(kn_last_error()), "kn_embedding_backward: " + msg + "dweight with 50 rows");
    EXPECT_EQ(dw.raw(), dw_raw) << "dweight written by a failing call";
    EXPECT_EQ(kn_embedding_renorm(0.0, 2.0, &wk, &ik, &ex), KN_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(std::string(kn_last_error()), "kn_embedding_renorm: " + msg + "weight with 50 rows");
    EXPECT_EQ(w.raw(), w_raw) << "weight renormed by a failing call";
  }
}

TEST(Embedding, OutOfRangeIndexNamesItsPosition) {
  expect_bad_index({4, 3}, {}, KN_INT64, 10, 57, "indices[3, 1]");
  expect_bad_index({4, 3}, {}, KN_INT32, 0, -1, "indices[0, 0]");
  expect_bad_index({4, 3}, Layout::transpose(), KN_INT64, 5, 50, "indices[1, 2]");
  expect_bad_index({7}, Layout::reverse(), KN_INT64, 6, INT64_MIN, "indices[6]");
  expect_bad_index({}, {}, KN_INT64, 0, 1000, "indices (0-d)");
  expect_bad_index({2, 3, 4}, {}, KN_INT32, 23, INT32_MAX, "indices[1, 2, 3]");
  // Large: the threaded check reports the FIRST bad position whatever the thread split.
  expect_bad_index({300, 400}, {}, KN_INT64, 119999, 50, "indices[299, 399]");
  expect_bad_index({300, 400}, {}, KN_INT64, 77777, -5, "indices[194, 177]");
}

TEST(Embedding, OutOfRangeBroadcastIndexNamesFirstPosition) {
  // indices (3, 4) with stride 0 along dim 0: row 0's elements are every row's.
  IndexTensor idx({3, 4}, KN_INT64, Layout::broadcast_dims(1u));
  idx.set_values({1, 2, 60, 3, 1, 2, 60, 3, 1, 2, 60, 3});
  HostTensor w({10, 2}, KN_FLOAT64), y({3, 4, 2}, KN_FLOAT64);
  const kn_tensor wk = w.kn(), ik = idx.kn(), yk = y.kn();
  EXPECT_EQ(kn_embedding_forward(&wk, &ik, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kn_last_error()), "kn_embedding_forward: indices[0, 2] = 60 is out of range for weight with 10 rows");
}

TEST(Embedding, BadParamsRefusedWithNothingWritten) {
  EmbeddingCall& c = embedding_call();
  const kn_tensor dyk = c.dy.kn(), ik = c.idx.kn(), dwk = c.dw.kn(), rwk = c.rw.kn();
  c.dw.fill(std::nan(""));
  const auto dw_raw = c.dw.raw(), rw_raw = c.rw.raw();
  struct Bad {
    kn_embedding_params p;
    const char* arg;
  };
  for (const Bad& b : {Bad{{10, 0}, "p->padding_idx"}, Bad{{-2, 0}, "p->padding_idx"},
                       Bad{{INT64_MIN, 0}, "p->padding_idx"}, Bad{{-1, 2}, "p->scale_grad_by_freq"},
                       Bad{{3, -1}, "p->scale_grad_by_freq"}}) {
    EXPECT_EQ(kn_embedding_backward(&b.p, &dyk, &ik, &dwk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_embedding_backward: ") + b.arg), std::string::npos)
        << kn_last_error();
    EXPECT_EQ(c.dw.raw(), dw_raw);
  }
  EXPECT_EQ(kn_embedding_backward(nullptr, &dyk, &ik, &dwk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_embedding_backward: p: must not be NULL"), std::string::npos);
  EXPECT_EQ(c.dw.raw(), dw_raw);
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (double max_norm : {-1.0, -1e-300, nan, inf, -inf}) {
    EXPECT_EQ(kn_embedding_renorm(max_norm, 2.0, &rwk, &ik, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find("kn_embedding_renorm: max_norm: "), std::string::npos) << kn_last_error();
  }
  for (double p : {0.0, -1.0, -inf, nan}) {
    EXPECT_EQ(kn_embedding_renorm(1.0, p, &rwk, &ik, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find("kn_embedding_renorm: norm_type: "), std::string::npos) << kn_last_error();
  }
  EXPECT_EQ(c.rw.raw(), rw_raw) << "weight changed by a refused renorm";
  // The edges that are legal: padding_idx = V - 1, max_norm = 0, norm_type = inf.
  const kn_embedding_params last{9, 1};
  KN_EXPECT_OK(kn_embedding_backward(&last, &dyk, &ik, &dwk, nullptr));
  HostTensor w2({10, 5}, KN_FLOAT32);
  const kn_tensor w2k = w2.kn();
  KN_EXPECT_OK(kn_embedding_renorm(0.0, inf, &w2k, &ik, nullptr));
}

}  // namespace
}  // namespace kntest
