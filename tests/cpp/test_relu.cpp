// kn_relu_forward / kn_relu_backward through the C ABI, against the
// reference (reference.hpp), with the shared machinery of tensor_util.hpp.
#include <gtest/gtest.h>

#include <limits>

#include "reference.hpp"
#include "tensor_util.hpp"
#include "kernels/relu.h"

namespace kntest {
namespace {

// ReluTester().shape({3, 5}).transpose("x").in_place().dtype(KN_FLOAT64).test_forward();
// Operands: x, y (forward), dy, dx (backward); all of one shape, any ndim.
class ReluTester : public TesterBase<ReluTester> {
 public:
  ReluTester& shape(Shape s) { shape_ = std::move(s); return *this; }
  // forward: y is x itself; backward: dx is dy itself.
  ReluTester& in_place(bool v = true) { in_place_ = v; return *this; }
  // The first elements of x are NaN, +-inf, +-0 and a denormal.
  ReluTester& special_values(bool v = true) { special_ = v; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << "relu shape=" << shape_str(shape_) << (in_place_ ? " in-place" : "")
      << (special_ ? " special-values" : "") << (null_exec_ ? " ex=NULL" : "") << " "
      << describe_common();
    return o.str();
  }

  void test_forward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng);
    const ref::Vec want = ref::relu_forward(x.values());
    const auto x_raw = x.raw();
    HostTensor y;
    if (!in_place_) y = make_output("y", shape_);
    HostTensor& out = in_place_ ? x : y;  // in place: y's descriptor is x's
    const kn_tensor xk = x.kn(), yk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_relu_forward(&xk, &yk, exec_ptr(ex)));
    EXPECT_TRUE(all_equal("y", out.values(), want));
    EXPECT_TRUE(out.outside_untouched("y"));
    if (!in_place_) {
      EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    }
  }

  void test_backward() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), dy = make("dy", shape_);
    dy.fill_random(rng);
    const ref::Vec want = ref::relu_backward(dy.values(), x.values());
    const auto x_raw = x.raw(), dy_raw = dy.raw();
    HostTensor dx;
    if (!in_place_) dx = make_output("dx", shape_);
    HostTensor& out = in_place_ ? dy : dx;  // in place: dx's descriptor is dy's
    const kn_tensor dyk = dy.kn(), xk = x.kn(), dxk = out.kn();
    const kn_exec ex = exec();
    KN_ASSERT_OK(kn_relu_backward(&dyk, &xk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_equal("dx", out.values(), want));
    EXPECT_TRUE(out.outside_untouched("dx"));
    EXPECT_EQ(x.raw(), x_raw) << "x was modified";
    if (!in_place_) {
      EXPECT_EQ(dy.raw(), dy_raw) << "dy was modified";
    }
  }

  // Central differences of L = sum(dy * relu(x)), x kept away from the kink.
  void test_gradient() const {
    SCOPED_TRACE(describe());
    ASSERT_EQ(dtype_, KN_FLOAT64);
    Rng rng(seed_);
    HostTensor x = make("x", shape_), dy = make("dy", shape_), y = make_output("y", shape_),
               dx = make_output("dx", shape_);
    x.fill_random(rng, -1, 1, 1e-3), dy.fill_random(rng);
    const kn_exec ex = exec();
    auto loss = [&]() {
      const kn_tensor xk = x.kn(), yk = y.kn();
      EXPECT_EQ(kn_relu_forward(&xk, &yk, exec_ptr(ex)), KN_OK) << kn_last_error();
      return dot(dy.values(), y.values());
    };
    const kn_tensor dyk = dy.kn(), xk = x.kn(), dxk = dx.kn();
    KN_ASSERT_OK(kn_relu_backward(&dyk, &xk, &dxk, exec_ptr(ex)));
    EXPECT_TRUE(all_close("dx vs finite differences", dx.values(), numeric_gradient(x, loss), {}, 1e-7, 1e-7));
  }

  // Element-wise: 1 and 2 threads give bitwise-equal results.
  void test_threads_agree() const {
    SCOPED_TRACE(describe());
    Rng rng(seed_);
    HostTensor x = make_x(rng), dy = make("dy", shape_);
    dy.fill_random(rng);
    ref::Vec y_of[2], dx_of[2];
    for (int k = 0; k < 2; ++k) {
      HostTensor y = make_output("y", shape_), dx = make_output("dx", shape_);
      const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
      const kn_exec ex = make_exec(k + 1);
      KN_ASSERT_OK(kn_relu_forward(&xk, &yk, &ex));
      KN_ASSERT_OK(kn_relu_backward(&dyk, &xk, &dxk, &ex));
      y_of[k] = y.values(), dx_of[k] = dx.values();
    }
    EXPECT_TRUE(all_equal("y(2 threads) vs reference", y_of[1], ref::relu_forward(x.values())));
    EXPECT_TRUE(all_equal("dx(2 threads) vs reference", dx_of[1], ref::relu_backward(dy.values(), x.values())));
    EXPECT_TRUE(all_equal("y(1) vs y(2)", y_of[0], y_of[1]));
    EXPECT_TRUE(all_equal("dx(1) vs dx(2)", dx_of[0], dx_of[1]));
  }

 private:
  HostTensor make_x(Rng& rng) const {
    HostTensor x = make("x", shape_);
    x.fill_random(rng);
    // Exact zeros (both signs) among the random values: the kink.
    for (int64_t i = 3; i < x.numel(); i += 7) x.set(i, (i / 7) % 2 ? 0.0 : -0.0);
    if (special_) {
      const double inf = std::numeric_limits<double>::infinity();
      const double specials[] = {std::nan(""), inf, -inf, 0.0, -0.0, 1e-40, -1e-40};
      for (int64_t i = 0; i < x.numel() && i < 7; ++i) x.set(i, specials[i]);
    }
    return x;
  }

  Shape shape_ = {3, 5};
  bool in_place_ = false, special_ = false;
};

// ------------------------------------------------------------ shapes x layouts x dtypes

using Case = TesterCase<ReluTester>;

std::vector<Case> relu_cases() {
  const Layout T = Layout::transpose(), S = Layout::sliced(2), R = Layout::reverse();
  return {
      {"contiguous_2d", [](ReluTester&) {}},
      {"scalar_0d", [](ReluTester& t) { t.shape({}); }},
      {"vector_1d", [](ReluTester& t) { t.shape({17}); }},
      {"max_dims_8d", [](ReluTester& t) { t.shape({2, 1, 3, 2, 1, 2, 2, 3}); }},
      {"size0_first", [](ReluTester& t) { t.shape({0, 4}); }},
      {"size0_last", [](ReluTester& t) { t.shape({4, 3, 0}); }},
      {"size1_dims", [](ReluTester& t) { t.shape({1, 5, 1}); }},
      {"transposed_x", [T](ReluTester& t) { t.shape({4, 3, 5}).layout("x", T); }},
      {"transposed_y_only", [T](ReluTester& t) { t.shape({4, 3, 5}).layout("y", T).layout("dx", T); }},
      {"sliced_all", [S](ReluTester& t) { t.shape({4, 6}).layout("x", S).layout("y", S).layout("dy", S).layout("dx", S); }},
      {"sliced_step3_x", [](ReluTester& t) { t.shape({5, 4}).slice("x", 3).slice("dy", 3); }},
      {"reversed_x_dy", [R](ReluTester& t) { t.shape({3, 4, 2}).layout("x", R).layout("dy", R); }},
      {"reversed_outputs", [R](ReluTester& t) { t.shape({3, 4, 2}).layout("y", R).layout("dx", R); }},
      {"mixed_layouts", [T, S, R](ReluTester& t) {
         t.shape({3, 4, 5}).layout("x", T.s(2)).layout("y", R).layout("dy", S.r()).layout("dx", T);
       }},
      {"broadcast_x", [](ReluTester& t) { t.shape({4, 5}).broadcast("x", 1u); }},
      {"broadcast_x_scalar", [](ReluTester& t) { t.shape({3, 4}).broadcast("x", 3u); }},
      {"broadcast_dy", [](ReluTester& t) { t.shape({4, 5}).broadcast("dy", 2u); }},
      {"special_values", [](ReluTester& t) { t.shape({3, 4}).special_values(); }},
      {"special_values_strided", [T](ReluTester& t) { t.shape({3, 4}).special_values().layout("x", T.r()); }},
      {"in_place", [](ReluTester& t) { t.shape({5, 6}).in_place(); }},
      {"in_place_transposed", [T](ReluTester& t) { t.shape({5, 6}).layout("x", T).layout("dy", T).in_place(); }},
      {"in_place_sliced_reversed", [S](ReluTester& t) { t.shape({5, 6}).layout("x", S.r()).layout("dy", S).in_place(); }},
      {"threads_2_large", [](ReluTester& t) { t.shape({300, 257}).threads(2); }},
      {"threads_2_large_strided", [T](ReluTester& t) { t.shape({300, 257}).threads(2).layout("x", T).layout("dx", T); }},
      {"threads_16_large", [](ReluTester& t) { t.shape({300, 257}).threads(16); }},
      {"exec_null", [](ReluTester& t) { t.null_exec(); }},
  };
}

class ReluCases : public ::testing::TestWithParam<std::tuple<Case, int32_t>> {
 protected:
  ReluTester tester() const {
    ReluTester t;
    t.dtype(std::get<1>(GetParam()));
    std::get<0>(GetParam()).apply(t);
    return t;
  }
};

TEST_P(ReluCases, Forward) { tester().test_forward(); }
TEST_P(ReluCases, Backward) { tester().test_backward(); }

INSTANTIATE_TEST_SUITE_P(Relu, ReluCases,
                         ::testing::Combine(::testing::ValuesIn(relu_cases()),
                                            ::testing::Values(KN_FLOAT32, KN_FLOAT64)),
                         case_dtype_name<ReluCases::ParamType>);

TEST(Relu, GradientFloat64) {
  const Layout T = Layout::transpose();
  ReluTester().shape({4, 5}).dtype(KN_FLOAT64).test_gradient();
  ReluTester().shape({3, 2, 4}).dtype(KN_FLOAT64).layout("x", T.s(2)).layout("dy", T.r()).test_gradient();
  ReluTester().shape({}).dtype(KN_FLOAT64).test_gradient();
}

TEST(Relu, OneAndTwoThreadsAgree) {
  // 77100 elements: above two grains of 32768, so two threads split the work.
  ReluTester().shape({300, 257}).dtype(KN_FLOAT32).test_threads_agree();
  ReluTester().shape({300, 257}).dtype(KN_FLOAT64).layout("x", Layout::transpose()).test_threads_agree();
}

// Random shapes (ndim 0..4, sizes 0..6), layouts and dtypes from fixed seeds.
class ReluRandom : public ::testing::TestWithParam<int> {};
TEST_P(ReluRandom, ForwardAndBackward) {
  Rng rng(2000 + static_cast<uint64_t>(GetParam()));
  Shape shape(static_cast<size_t>(rng.integer(0, 4)));
  for (int64_t& d : shape) d = rng.integer(0, 9) == 0 ? 0 : rng.integer(1, 6);
  const int nd = static_cast<int>(shape.size());
  ReluTester t;
  t.shape(shape).dtype(rng.coin() ? KN_FLOAT32 : KN_FLOAT64).threads(static_cast<int32_t>(rng.integer(0, 2)))
      .seed(static_cast<uint64_t>(GetParam()))
      .layout("x", random_layout(rng, nd, true)).layout("dy", random_layout(rng, nd, true))
      .layout("y", random_layout(rng, nd, false)).layout("dx", random_layout(rng, nd, false));
  t.test_forward();
  t.test_backward();
}
INSTANTIATE_TEST_SUITE_P(Relu, ReluRandom, ::testing::Range(0, 24));

// ------------------------------------------------------------ validation

struct ReluCall {
  HostTensor x{{3, 4}, KN_FLOAT32}, y{{3, 4}, KN_FLOAT32}, dy{{3, 4}, KN_FLOAT32}, dx{{3, 4}, KN_FLOAT32};
  OpCall forward, backward;
  ReluCall() {
    const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
    forward.add("x", &xk), forward.add("y", &yk);
    backward.add("dy", &dyk), backward.add("x", &xk), backward.add("dx", &dxk);
  }
};
ReluCall& relu_call() {
  static ReluCall call;
  return call;
}

kn_status invoke_forward(const OpCall& c) { return kn_relu_forward(c.arg("x"), c.arg("y"), c.exec()); }
kn_status invoke_backward(const OpCall& c) {
  return kn_relu_backward(c.arg("dy"), c.arg("x"), c.arg("dx"), c.exec());
}

std::vector<ErrorCase> forward_error_cases() {
  auto cases = descriptor_error_cases({{"x", true, -1, false, true}, {"y", true, -1, true}});
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  cases.push_back({"y_shape_mismatch", [](OpCall& c) { c["y"].shape[1] = 3; }, SHAPE, "y"});
  cases.push_back({"y_ndim_mismatch", [](OpCall& c) { c["y"].ndim = 1; }, SHAPE, "y"});
  cases.push_back({"y_same_data_other_strides", [](OpCall& c) {
                     // Same data pointer but transposed strides: not the exact alias.
                     c["y"] = c["x"];
                     c["y"].shape[0] = 4, c["y"].shape[1] = 3;
                     c["y"].strides[0] = 1, c["y"].strides[1] = 4;
                     c["x"].shape[0] = 4, c["x"].shape[1] = 3;
                   }, KN_ERR_INVALID_ARGUMENT, "y"});
  return cases;
}

std::vector<ErrorCase> backward_error_cases() {
  auto cases = descriptor_error_cases({{"dy", true, -1, false, true}, {"x", true, -1}, {"dx", true, -1, true}});
  const kn_status SHAPE = KN_ERR_SHAPE_MISMATCH;
  cases.push_back({"x_shape_mismatch", [](OpCall& c) { c["x"].shape[0] = 2; }, SHAPE, "x"});
  cases.push_back({"dx_shape_mismatch", [](OpCall& c) { c["dx"].shape[1] = 3; }, SHAPE, "dx"});
  cases.push_back({"dx_ndim_mismatch", [](OpCall& c) {
                     c["dx"].ndim = 3;
                     c["dx"].shape[2] = 1;
                     c["dx"].strides[2] = 1;
                   }, SHAPE, "dx"});
  return cases;
}

class ReluForwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(ReluForwardErrors, ExactStatusAndMessage) {
  check_error_case(relu_call().forward, invoke_forward, "kn_relu_forward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Relu, ReluForwardErrors, ::testing::ValuesIn(forward_error_cases()), error_case_name);

class ReluBackwardErrors : public ::testing::TestWithParam<ErrorCase> {};
TEST_P(ReluBackwardErrors, ExactStatusAndMessage) {
  check_error_case(relu_call().backward, invoke_backward, "kn_relu_backward", GetParam());
}
INSTANTIATE_TEST_SUITE_P(Relu, ReluBackwardErrors, ::testing::ValuesIn(backward_error_cases()), error_case_name);

// dx may also be x itself (exactly): element-wise, so allowed.
TEST(Relu, BackwardDxAliasingX) {
  Rng rng(3);
  HostTensor x({4, 6}, KN_FLOAT64, Layout::transpose()), dy({4, 6}, KN_FLOAT64);
  x.fill_random(rng), dy.fill_random(rng);
  const ref::Vec want = ref::relu_backward(dy.values(), x.values());
  const kn_tensor dyk = dy.kn(), xk = x.kn();
  KN_ASSERT_OK(kn_relu_backward(&dyk, &xk, &xk, nullptr));
  EXPECT_TRUE(all_equal("dx (in x)", x.values(), want));
}

// An output whose strides do not nest (sorted by stride, a dim steps by
// less than the smaller dims span) but whose elements are all distinct:
// shape (3, 2) with strides (2, 3) addresses offsets {0, 3, 2, 5, 4, 7}.
// It does not overlap itself, so the header's rule ("an output must not
// overlap itself") accepts it.
// The self-overlap test for outputs is the documented sufficient rule
// (kernels.h): ordered by |stride|, each dim must step past everything the
// smaller dims span. Shape (3, 2) with strides (2, 3) addresses distinct
// offsets {0, 3, 2, 5, 4, 7} but interleaves its dims, so it is rejected --
// conservatively, with a clear status and nothing written.
TEST(Relu, InterleavedStridesOutputIsRejectedByTheNestedRule) {
  Rng rng(4);
  HostTensor x({3, 2}, KN_FLOAT32);
  x.fill_random(rng);
  std::vector<float> storage(8, -1.0f);
  kn_tensor y = x.kn();
  y.data = storage.data();
  y.strides[0] = 2, y.strides[1] = 3;
  const kn_tensor xk = x.kn();
  EXPECT_EQ(kn_relu_forward(&xk, &y, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("y: output elements overlap"), std::string::npos)
      << kn_last_error();
  for (float v : storage) EXPECT_EQ(v, -1.0f);
  // The same elements in a nested layout (strides (1, 3)) are accepted.
  y.strides[0] = 1, y.strides[1] = 3;
  EXPECT_EQ(kn_relu_forward(&xk, &y, nullptr), KN_OK) << kn_last_error();
}

}  // namespace
}  // namespace kntest
