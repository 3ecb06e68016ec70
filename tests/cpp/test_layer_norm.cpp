// kn_layer_norm_* through the C ABI, against the naive double-precision
// reference of norm_tester.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "norm_tester.hpp"

namespace kntest {
namespace {

using Case = TesterCase<NormTester>;

std::vector<Case> layer_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"k1_default", [](NormTester&) {}},
      {"k1_1d_input", [](NormTester& t) { t.shape({7}); }},
      {"k2", [](NormTester& t) { t.layer(2).shape({3, 4, 5}); }},
      {"k3", [](NormTester& t) { t.layer(3).shape({2, 3, 4, 5}); }},
      {"k_all_dims", [](NormTester& t) { t.layer(3).shape({3, 4, 5}); }},
      {"row_of_one", [](NormTester& t) { t.shape({4, 1}); }},
      {"long_rows", [](NormTester& t) { t.shape({3, 1000}); }},
      {"odd_row_length", [](NormTester& t) { t.shape({5, 37}); }},
      {"weight_only", [](NormTester& t) { t.affine(true, false).shape({4, 19}); }},
      {"bias_only", [](NormTester& t) { t.affine(false, true).shape({4, 19}); }},
      {"no_affine", [](NormTester& t) { t.affine(false, false).shape({4, 19}); }},
      {"eps_large", [](NormTester& t) { t.eps(0.5).shape({3, 8}); }},
      {"eps_zero", [](NormTester& t) { t.eps(0.0).shape({3, 8}); }},
      {"large_mean", [](NormTester& t) { t.offset(1000.0).shape({4, 64}); }},
      {"transposed_x", [T](NormTester& t) { t.shape({6, 9}).layout("x", T).layout("dy", T); }},
      {"transposed_k2", [T](NormTester& t) { t.layer(2).shape({3, 4, 5}).layout("x", T).layout("y", T).layout("dx", T); }},
      {"sliced_all", [S](NormTester& t) {
         t.layer(2).shape({3, 4, 6});
         for (const char* o : {"x", "weight", "bias", "y", "mean", "rstd", "dy", "dx", "dweight", "dbias"}) t.layout(o, S);
       }},
      {"reversed_all", [R](NormTester& t) {
         t.shape({4, 33});
         for (const char* o : {"x", "weight", "bias", "y", "mean", "rstd", "dy", "dx", "dweight", "dbias"}) t.layout(o, R);
       }},
      {"mixed_layouts", [T, S, R](NormTester& t) {
         t.layer(2).shape({5, 3, 7}).layout("x", T.s(2)).layout("y", R).layout("dy", S.r()).layout("dx", T)
             .layout("weight", T).layout("mean", R).layout("dweight", S);
       }},
      {"broadcast_x_and_dy", [](NormTester& t) { t.shape({4, 3, 8}).broadcast("x", 2u).broadcast("dy", 1u); }},
      {"broadcast_weight", [](NormTester& t) { t.layer(2).shape({3, 4, 5}).broadcast("weight", 1u).broadcast("bias", 2u); }},
      {"empty_rows", [](NormTester& t) { t.shape({0, 5}); }},
      {"empty_row_length", [](NormTester& t) { t.shape({3, 0}); }},
      {"empty_lead_k2", [](NormTester& t) { t.layer(2).shape({2, 0, 3, 4}); }},
      {"only_dx", [](NormTester& t) { t.need(true, false, false).shape({6, 10}); }},
      {"only_dweight", [](NormTester& t) { t.need(false, true, false).shape({6, 10}); }},
      {"only_dbias", [](NormTester& t) { t.need(false, false, true).shape({6, 10}); }},
      {"nothing_needed", [](NormTester& t) { t.need(false, false, false).shape({6, 10}); }},
      {"many_rows_chunks", [](NormTester& t) { t.shape({1000, 12}); }},
      {"threads_2", [](NormTester& t) { t.shape({300, 257}).threads(2); }},
      {"exec_null", [](NormTester& t) { t.null_exec(); }},
  };
}

class LayerNormCases : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  NormTester tester() const {
    NormTester t;
    t.layer(1).dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(LayerNormCases, Forward) { tester().test_forward(); }
TEST_P(LayerNormCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(LayerNorm, LayerNormCases,
                         ::testing::Combine(::testing::ValuesIn(layer_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<LayerNormCases::ParamType>);

TEST(LayerNorm, GradientFloat64) {
  const Layout T = Layout::transpose();
  NormTester().layer(1).shape({3, 6}).dtype(KN_FLOAT64).test_gradient();
  NormTester().layer(2).shape({2, 3, 4}).dtype(KN_FLOAT64).layout("x", T).layout("dy", T.r()).test_gradient();
  NormTester().layer(3).shape({2, 2, 3}).affine(false, true).dtype(KN_FLOAT64).test_gradient();
  NormTester().layer(1).shape({4, 5}).affine(false, false).eps(0.1).dtype(KN_FLOAT64).test_gradient();
}

TEST(LayerNorm, OneTwoThreeThreadsAgree) {
  NormTester().layer(1).shape({4096, 64}).test_threads_agree();
  NormTester().layer(1).shape({777, 129}).layout("x", Layout::transpose()).test_threads_agree();
  NormTester().layer(2).shape({100, 9, 31}).dtype(KN_FLOAT64).test_threads_agree();
}

// Random shapes, k, options, layouts and dtypes from fixed seeds.
class LayerNormRandom : public ::testing::TestWithParam<int> {};
TEST_P(LayerNormRandom, ForwardAndBackward) {
  Rng rng(7000 + static_cast<uint64_t>(GetParam()));
  const int ndim = static_cast<int>(rng.integer(1, 4));
  Shape shape;
  for (int d = 0; d < ndim; ++d) shape.push_back(rng.integer(d == 0 ? 0 : 1, 6));
  NormTester t;
  t.layer(static_cast<int>(rng.integer(1, ndim))).shape(shape).affine(rng.coin(), rng.coin())
      .need(rng.coin(), rng.coin(), rng.coin()).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64)
      .threads(static_cast<int32_t>(rng.integer(0, 2))).seed(static_cast<uint64_t>(GetParam()))
      .layout("x", random_layout(rng, ndim, true)).layout("dy", random_layout(rng, ndim, true))
      .layout("y", random_layout(rng, ndim, false)).layout("dx", random_layout(rng, ndim, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(LayerNorm, LayerNormRandom, ::testing::Range(0, 30));

// ------------------------------------------------------------ validation

// Valid float32 calls: x (2, 3, 4), k = 1 -> weight, bias (4), mean, rstd (2, 3).
NormCall& ln_call() {
  static NormCall call({2, 3, 4}, {4}, {2, 3});
  return call;
}

const kn_layer_norm_params kParams{1, 1e-5};

kn_status invoke_forward(const OpCall& c) {
  return kn_layer_norm_forward(&kParams, c.arg("x"), c.arg("weight"), c.arg("bias"), c.arg("y"),
                               c.arg("mean"), c.arg("rstd"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_layer_norm_backward(&kParams, c.arg("dy"), c.arg("x"), c.arg("weight"), c.arg("mean"),
                                c.arg("rstd"), c.arg("dx"), c.arg("dweight"), c.arg("dbias"), c.exec());
}

std::vector<ErrorCase> forward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = descriptor_error_cases({{"x", true, -1, false, true}, {"weight", false, 1}, {"bias", false, 1},
                                       {"y", true, -1, true}, {"mean", true, -1, true}, {"rstd", true, -1, true}});
  cases.push_back({"weight_wrong_size", [](OpCall& c) { c["weight"].shape[0] = 3; }, SHAPE, "weight"});
  cases.push_back({"bias_wrong_size", [](OpCall& c) { c["bias"].shape[0] = 5; }, SHAPE, "bias"});
  cases.push_back({"y_wrong_shape", [](OpCall& c) { c["y"].shape[1] = 2; }, SHAPE, "y"});
  cases.push_back({"mean_wrong_shape", [](OpCall& c) { c["mean"].shape[1] = 2; }, SHAPE, "mean"});
  cases.push_back({"mean_torch_keepdim_shape", [](OpCall& c) {
                     kn_tensor& m = c["mean"];
                     m.shape[2] = 1, m.strides[2] = 1, m.ndim = 3;
                   }, SHAPE, "mean"});
  cases.push_back({"rstd_wrong_ndim", [](OpCall& c) { c["rstd"].ndim = 1; }, SHAPE, "rstd"});
  cases.push_back({"y_aliases_x", [](OpCall& c) { c["y"] = c["x"]; }, KN_ERR_INVALID_ARGUMENT, "y"});
  return cases;
}

std::vector<ErrorCase> backward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"x", true}, {"weight", false, 1},
                                       {"mean", true}, {"rstd", true}, {"dx", false, -1, true},
                                       {"dweight", false, 1, true}, {"dbias", false, 1, true}});
  cases.push_back({"x_wrong_shape", [](OpCall& c) { c["x"].shape[2] = 3; }, SHAPE, "x"});
  cases.push_back({"weight_wrong_size", [](OpCall& c) { c["weight"].shape[0] = 3; }, SHAPE, "weight"});
  cases.push_back({"mean_wrong_shape", [](OpCall& c) { c["mean"].shape[0] = 3; }, SHAPE, "mean"});
  cases.push_back({"rstd_wrong_shape", [](OpCall& c) { c["rstd"].shape[1] = 1; }, SHAPE, "rstd"});
  cases.push_back({"dx_wrong_shape", [](OpCall& c) { c["dx"].shape[0] = 1; }, SHAPE, "dx"});
  cases.push_back({"dweight_wrong_size", [](OpCall& c) { c["dweight"].shape[0] = 2; }, SHAPE, "dweight"});
  cases.push_back({"dbias_wrong_size", [](OpCall& c) { c["dbias"].shape[0] = 2; }, SHAPE, "dbias"});
  cases.push_back({"dx_aliases_dy", [](OpCall& c) { c["dx"] = c["dy"]; }, KN_ERR_INVALID_ARGUMENT, "dx"});
  return cases;
}

class LayerNormForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(LayerNormForwardErrors, ExactStatusAndMessage) {
  check_error_case(ln_call().fwd, invoke_forward, "kn_layer_norm_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(LayerNorm, LayerNormForwardErrors, ::testing::ValuesIn(forward_cases()), error_case_name);

class LayerNormBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(LayerNormBackwardErrors, ExactStatusAndMessage) {
  check_error_case(ln_call().bwd, invoke_backward, "kn_layer_norm_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(LayerNorm, LayerNormBackwardErrors, ::testing::ValuesIn(backward_cases()), error_case_name);

// Bad parameters: refused with a message naming the field, no output written.
TEST(LayerNorm, BadParamsRefusedOutputsUntouched) {
  struct P {
    const char* name;
    kn_layer_norm_params p;
    const char* field;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const P bad[] = {{"k0", {0, 1e-5}, "p->normalized_ndim"},   {"k_too_big", {4, 1e-5}, "p->normalized_ndim"},
                   {"k_negative", {-1, 1e-5}, "p->normalized_ndim"}, {"eps_nan", {1, nan}, "p->eps"},
                   {"eps_inf", {1, inf}, "p->eps"},            {"eps_negative", {1, -1e-3}, "p->eps"}};
  HostTensor x({2, 3, 4}, KN_FLOAT32), dy({2, 3, 4}, KN_FLOAT32);
  for (const P& b : bad) {
    SCOPED_TRACE(b.name);
    HostTensor y({2, 3, 4}, KN_FLOAT32), mean({2, 3}, KN_FLOAT32), rstd({2, 3}, KN_FLOAT32),
        dx({2, 3, 4}, KN_FLOAT32), dw({4}, KN_FLOAT32);
    y.fill(7), mean.fill(7), rstd.fill(7), dx.fill(7), dw.fill(7);
    const auto y0 = y.raw(), m0 = mean.raw(), s0 = rstd.raw(), dx0 = dx.raw(), dw0 = dw.raw();
    const kn_tensor xk = x.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn(), dyk = dy.kn(), dxk = dx.kn(),
                    dwk = dw.kn();
    EXPECT_EQ(kn_layer_norm_forward(&b.p, &xk, nullptr, nullptr, &yk, &mk, &sk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_layer_norm_forward: ") + b.field), std::string::npos)
        << kn_last_error();
    EXPECT_EQ(kn_layer_norm_backward(&b.p, &dyk, &xk, nullptr, &mk, &sk, &dxk, &dwk, nullptr, nullptr),
              KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_layer_norm_backward: ") + b.field), std::string::npos)
        << kn_last_error();
    EXPECT_EQ(y.raw(), y0);
    EXPECT_EQ(mean.raw(), m0);
    EXPECT_EQ(rstd.raw(), s0);
    EXPECT_EQ(dx.raw(), dx0);
    EXPECT_EQ(dw.raw(), dw0);
  }
  HostTensor y({2, 3, 4}, KN_FLOAT32), mean({2, 3}, KN_FLOAT32), rstd({2, 3}, KN_FLOAT32);
  const kn_tensor xk = x.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn();
  EXPECT_EQ(kn_layer_norm_forward(nullptr, &xk, nullptr, nullptr, &yk, &mk, &sk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_layer_norm_forward: p: must not be NULL"), std::string::npos);
}

// Shape errors leave every output as it was.
TEST(LayerNorm, ShapeErrorsLeaveOutputsUntouched) {
  HostTensor x({2, 3, 4}, KN_FLOAT32), w({3}, KN_FLOAT32), y({2, 3, 4}, KN_FLOAT32), mean({2, 3}, KN_FLOAT32),
      rstd({2, 3}, KN_FLOAT32);
  y.fill(7), mean.fill(7), rstd.fill(7);
  const auto y0 = y.raw(), m0 = mean.raw(), s0 = rstd.raw();
  const kn_tensor xk = x.kn(), wk = w.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn();
  const kn_layer_norm_params p{1, 1e-5};
  EXPECT_EQ(kn_layer_norm_forward(&p, &xk, &wk, nullptr, &yk, &mk, &sk, nullptr), KN_ERR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(kn_last_error()).find("kn_layer_norm_forward: weight: expected shape (4,)"), std::string::npos)
      << kn_last_error();
  EXPECT_EQ(y.raw(), y0);
  EXPECT_EQ(mean.raw(), m0);
  EXPECT_EQ(rstd.raw(), s0);
}

// A row of equal values: var = 0, rstd = 1/sqrt(eps), y = bias; NaN in a row: that row NaN.
TEST(LayerNorm, ConstantRowsAndNaN) {
  for (int32_t dtype : {KN_FLOAT32, KN_FLOAT64}) {
    HostTensor x({2, 8}, dtype), y({2, 8}, dtype), mean({2}, dtype), rstd({2}, dtype);
    x.fill(3.0);
    x.set(9, std::nan(""));
    const kn_tensor xk = x.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn();
    const kn_layer_norm_params p{1, 0.25};
    KN_ASSERT_OK(kn_layer_norm_forward(&p, &xk, nullptr, nullptr, &yk, &mk, &sk, nullptr));
    EXPECT_EQ(mean.get(0), 3.0);
    EXPECT_EQ(rstd.get(0), 2.0);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(y.get(i), 0.0);
    for (int i = 8; i < 16; ++i) EXPECT_TRUE(std::isnan(y.get(i))) << i;
    EXPECT_TRUE(std::isnan(mean.get(1)));
  }
}

}  // namespace
}  // namespace kntest

namespace kntest {
namespace {

// Large shapes (8 MB outputs), 2 threads.
TEST(LayerNorm, LargeOutputs) {
  NormTester t;
  t.layer(1).shape({2048, 1040}).threads(2);
  t.test_forward();
  t.test_backward();
  t.test_threads_agree();
}

// Rows longer than 256K elements: dweight/dbias partials beyond the kept 4 MB buffer.
TEST(LayerNorm, VeryLongRows) {
  NormTester t;
  t.layer(1).shape({3, 270000}).threads(2);
  t.test_forward();
  t.test_backward();
}

}  // namespace
}  // namespace kntest
