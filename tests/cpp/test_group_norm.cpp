// kn_group_norm_* through the C ABI, against the naive double-precision
// reference of norm_tester.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "norm_tester.hpp"

namespace kntest {
namespace {

using Case = TesterCase<NormTester>;

std::vector<Case> group_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"g2_default", [](NormTester&) {}},
      {"g1_one_group", [](NormTester& t) { t.group(1).shape({2, 6, 3, 3}); }},
      {"g_is_c", [](NormTester& t) { t.group(6).shape({2, 6, 4, 3}); }},
      {"no_spatial", [](NormTester& t) { t.group(3).shape({4, 6}); }},
      {"1d_spatial", [](NormTester& t) { t.group(2).shape({3, 4, 7}); }},
      {"3d_spatial", [](NormTester& t) { t.group(2).shape({2, 4, 3, 2, 5}); }},
      {"long_groups", [](NormTester& t) { t.group(2).shape({2, 8, 16, 16}); }},
      {"weight_only", [](NormTester& t) { t.affine(true, false); }},
      {"bias_only", [](NormTester& t) { t.affine(false, true); }},
      {"no_affine", [](NormTester& t) { t.affine(false, false); }},
      {"eps_large", [](NormTester& t) { t.eps(0.5); }},
      {"large_mean", [](NormTester& t) { t.offset(1000.0).shape({2, 4, 8, 8}); }},
      {"transposed_x", [T](NormTester& t) { t.layout("x", T).layout("dy", T); }},
      {"channels_last_like", [T](NormTester& t) { t.shape({2, 6, 5, 5}).layout("x", T).layout("y", T).layout("dx", T); }},
      {"sliced_all", [S](NormTester& t) {
         for (const char* o : {"x", "weight", "bias", "y", "mean", "rstd", "dy", "dx", "dweight", "dbias"}) t.layout(o, S);
       }},
      {"reversed_all", [R](NormTester& t) {
         for (const char* o : {"x", "weight", "bias", "y", "mean", "rstd", "dy", "dx", "dweight", "dbias"}) t.layout(o, R);
       }},
      {"mixed_layouts", [T, S, R](NormTester& t) {
         t.shape({3, 6, 4, 5}).group(3).layout("x", T.s(2)).layout("y", R).layout("dy", S.r()).layout("dx", T)
             .layout("weight", R).layout("mean", T).layout("dbias", S);
       }},
      {"broadcast_x_and_dy", [](NormTester& t) { t.shape({2, 4, 3, 3}).broadcast("x", 8u).broadcast("dy", 1u); }},
      {"empty_batch", [](NormTester& t) { t.shape({0, 4, 3, 3}); }},
      {"empty_channels", [](NormTester& t) { t.shape({2, 0, 3}); }},
      {"empty_spatial", [](NormTester& t) { t.shape({2, 4, 0, 3}); }},
      {"only_dx", [](NormTester& t) { t.need(true, false, false); }},
      {"only_dweight", [](NormTester& t) { t.need(false, true, false); }},
      {"only_dbias", [](NormTester& t) { t.need(false, false, true); }},
      {"threads_2", [](NormTester& t) { t.shape({8, 32, 12, 12}).group(8).threads(2); }},
      {"exec_null", [](NormTester& t) { t.null_exec(); }},
  };
}

class GroupNormCases : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  NormTester tester() const {
    NormTester t;
    t.group(2).shape({2, 4, 3, 5}).dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(GroupNormCases, Forward) { tester().test_forward(); }
TEST_P(GroupNormCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(GroupNorm, GroupNormCases,
                         ::testing::Combine(::testing::ValuesIn(group_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<GroupNormCases::ParamType>);

TEST(GroupNorm, GradientFloat64) {
  const Layout T = Layout::transpose();
  NormTester().group(2).shape({2, 4, 2, 3}).dtype(KN_FLOAT64).test_gradient();
  NormTester().group(3).shape({2, 6, 5}).dtype(KN_FLOAT64).layout("x", T).layout("dy", T.r()).test_gradient();
  NormTester().group(1).shape({3, 2}).affine(false, true).dtype(KN_FLOAT64).test_gradient();
  NormTester().group(2).shape({1, 4, 3}).affine(false, false).eps(0.1).dtype(KN_FLOAT64).test_gradient();
}

TEST(GroupNorm, OneTwoThreeThreadsAgree) {
  NormTester().group(8).shape({16, 32, 9, 9}).test_threads_agree();
  NormTester().group(4).shape({9, 8, 7, 5}).layout("x", Layout::transpose()).test_threads_agree();
  NormTester().group(2).shape({33, 4, 17}).dtype(KN_FLOAT64).test_threads_agree();
}

class GroupNormRandom : public ::testing::TestWithParam<int> {};
TEST_P(GroupNormRandom, ForwardAndBackward) {
  Rng rng(9000 + static_cast<uint64_t>(GetParam()));
  const int ndim = static_cast<int>(rng.integer(2, 5));
  const int64_t g = rng.integer(1, 3);
  Shape shape{rng.integer(0, 3), g * rng.integer(1, 3)};
  for (int d = 2; d < ndim; ++d) shape.push_back(rng.integer(1, 5));
  NormTester t;
  t.group(g).shape(shape).affine(rng.coin(), rng.coin()).need(rng.coin(), rng.coin(), rng.coin())
      .dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()))
      .layout("x", random_layout(rng, ndim, true)).layout("dy", random_layout(rng, ndim, true))
      .layout("y", random_layout(rng, ndim, false)).layout("dx", random_layout(rng, ndim, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(GroupNorm, GroupNormRandom, ::testing::Range(0, 30));

// ------------------------------------------------------------ validation

// Valid float32 calls: x (2, 4, 3), 2 groups -> weight, bias (4), mean, rstd (2, 2).
NormCall& gn_call() {
  static NormCall call({2, 4, 3}, {4}, {2, 2});
  return call;
}

const kn_group_norm_params kParams{2, 1e-5};

kn_status invoke_forward(const OpCall& c) {
  return kn_group_norm_forward(&kParams, c.arg("x"), c.arg("weight"), c.arg("bias"), c.arg("y"),
                               c.arg("mean"), c.arg("rstd"), c.exec());
}
kn_status invoke_backward(const OpCall& c) {
  return kn_group_norm_backward(&kParams, c.arg("dy"), c.arg("x"), c.arg("weight"), c.arg("mean"),
                                c.arg("rstd"), c.arg("dx"), c.arg("dweight"), c.arg("dbias"), c.exec());
}

std::vector<ErrorCase> forward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = descriptor_error_cases({{"x", true, -1, false, true}, {"weight", false, 1}, {"bias", false, 1},
                                       {"y", true, -1, true}, {"mean", true, 2, true}, {"rstd", true, 2, true}});
  cases.push_back({"x_1d", [](OpCall& c) { c["x"].ndim = 1; }, SHAPE, "x"});
  cases.push_back({"x_channels_not_divisible", [](OpCall& c) { c["x"].shape[1] = 3; },
                   KN_ERR_INVALID_ARGUMENT, "p->num_groups"});
  cases.push_back({"weight_wrong_size", [](OpCall& c) { c["weight"].shape[0] = 3; }, SHAPE, "weight"});
  cases.push_back({"bias_wrong_size", [](OpCall& c) { c["bias"].shape[0] = 2; }, SHAPE, "bias"});
  cases.push_back({"y_wrong_shape", [](OpCall& c) { c["y"].shape[2] = 2; }, SHAPE, "y"});
  cases.push_back({"mean_wrong_groups", [](OpCall& c) { c["mean"].shape[1] = 1; }, SHAPE, "mean"});
  cases.push_back({"rstd_wrong_batch", [](OpCall& c) { c["rstd"].shape[0] = 1; }, SHAPE, "rstd"});
  cases.push_back({"y_aliases_x", [](OpCall& c) { c["y"] = c["x"]; }, KN_ERR_INVALID_ARGUMENT, "y"});
  return cases;
}

std::vector<ErrorCase> backward_cases() {
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"x", true}, {"weight", false, 1},
                                       {"mean", true, 2}, {"rstd", true, 2}, {"dx", false, -1, true},
                                       {"dweight", false, 1, true}, {"dbias", false, 1, true}});
  cases.push_back({"x_wrong_shape", [](OpCall& c) { c["x"].shape[2] = 2; }, SHAPE, "x"});
  cases.push_back({"weight_wrong_size", [](OpCall& c) { c["weight"].shape[0] = 3; }, SHAPE, "weight"});
  cases.push_back({"mean_wrong_shape", [](OpCall& c) { c["mean"].shape[1] = 4; }, SHAPE, "mean"});
  cases.push_back({"dx_wrong_shape", [](OpCall& c) { c["dx"].shape[0] = 1; }, SHAPE, "dx"});
  cases.push_back({"dweight_wrong_size", [](OpCall& c) { c["dweight"].shape[0] = 2; }, SHAPE, "dweight"});
  cases.push_back({"dbias_wrong_size", [](OpCall& c) { c["dbias"].shape[0] = 2; }, SHAPE, "dbias"});
  cases.push_back({"dx_aliases_x", [](OpCall& c) { c["dx"] = c["x"]; }, KN_ERR_INVALID_ARGUMENT, "dx"});
  return cases;
}

class GroupNormForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(GroupNormForwardErrors, ExactStatusAndMessage) {
  check_error_case(gn_call().fwd, invoke_forward, "kn_group_norm_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(GroupNorm, GroupNormForwardErrors, ::testing::ValuesIn(forward_cases()), error_case_name);

class GroupNormBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(GroupNormBackwardErrors, ExactStatusAndMessage) {
  check_error_case(gn_call().bwd, invoke_backward, "kn_group_norm_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(GroupNorm, GroupNormBackwardErrors, ::testing::ValuesIn(backward_cases()), error_case_name);

TEST(GroupNorm, BadParamsRefusedOutputsUntouched) {
  struct P {
    const char* name;
    kn_group_norm_params p;
    const char* message;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const P bad[] = {{"g0", {0, 1e-5}, "p->num_groups: expected a value >= 1, got 0"},
                   {"g_negative", {-2, 1e-5}, "p->num_groups"},
                   {"g_not_dividing", {3, 1e-5}, "p->num_groups: the number of channels C = 4 of x must be divisible by num_groups, got num_groups = 3"},
                   {"g_above_c", {8, 1e-5}, "p->num_groups"},
                   {"eps_nan", {2, nan}, "p->eps"},
                   {"eps_negative", {2, -1.0}, "p->eps"}};
  HostTensor x({2, 4, 3}, KN_FLOAT32), dy({2, 4, 3}, KN_FLOAT32);
  for (const P& b : bad) {
    SCOPED_TRACE(b.name);
    HostTensor y({2, 4, 3}, KN_FLOAT32), mean({2, 2}, KN_FLOAT32), rstd({2, 2}, KN_FLOAT32),
        dx({2, 4, 3}, KN_FLOAT32), db({4}, KN_FLOAT32);
    y.fill(7), mean.fill(7), rstd.fill(7), dx.fill(7), db.fill(7);
    const auto y0 = y.raw(), m0 = mean.raw(), s0 = rstd.raw(), dx0 = dx.raw(), db0 = db.raw();
    const kn_tensor xk = x.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn(), dyk = dy.kn(), dxk = dx.kn(),
                    dbk = db.kn();
    EXPECT_EQ(kn_group_norm_forward(&b.p, &xk, nullptr, nullptr, &yk, &mk, &sk, nullptr), KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_group_norm_forward: ") + b.message), std::string::npos)
        << kn_last_error();
    EXPECT_EQ(kn_group_norm_backward(&b.p, &dyk, &xk, nullptr, &mk, &sk, &dxk, nullptr, &dbk, nullptr),
              KN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kn_last_error()).find(std::string("kn_group_norm_backward: ") + b.message), std::string::npos)
        << kn_last_error();
    EXPECT_EQ(y.raw(), y0);
    EXPECT_EQ(mean.raw(), m0);
    EXPECT_EQ(rstd.raw(), s0);
    EXPECT_EQ(dx.raw(), dx0);
    EXPECT_EQ(db.raw(), db0);
  }
  HostTensor y({2, 4, 3}, KN_FLOAT32), mean({2, 2}, KN_FLOAT32), rstd({2, 2}, KN_FLOAT32);
  const kn_tensor xk = x.kn(), yk = y.kn(), mk = mean.kn(), sk = rstd.kn();
  EXPECT_EQ(kn_group_norm_forward(nullptr, &xk, nullptr, nullptr, &yk, &mk, &sk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_group_norm_forward: p: must not be NULL"), std::string::npos);
}

}  // namespace
}  // namespace kntest

namespace kntest {
namespace {

// Large shapes (8 MB outputs), 2 threads.
TEST(GroupNorm, LargeOutputs) {
  NormTester t;
  t.group(8).shape({4, 32, 129, 128}).threads(2);
  t.test_forward();
  t.test_backward();
  t.test_threads_agree();
}

}  // namespace
}  // namespace kntest
