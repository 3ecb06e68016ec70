// kn_leaky_relu_* through the C ABI against a naive double-precision
// reference: the activation suite of activation_tester.hpp (layouts, size 0,
// in place, threads, finite differences, special values, every validation
// error), and leaky_relu's own checks below: other slopes, the backward from
// the result (self_is_result), the scalar arguments refused.
// Run alone: make check OP=leaky_relu
#include "activation_tester.hpp"

KN_ACTIVATION_TESTS(LeakyRelu, Act::LeakyRelu)

namespace kntest {
namespace {

TEST(LeakyRelu, GradientFloat64OtherSlopes) {
  ActTester().op(Act::LeakyRelu).slope(-0.7).dtype(KN_FLOAT64).test_gradient();
  ActTester().op(Act::LeakyRelu).slope(2.5).self_is_result().dtype(KN_FLOAT64).test_gradient();
  ActTester().op(Act::LeakyRelu).slope(0.0).self_is_result().dtype(KN_FLOAT64).test_gradient();
}

TEST(LeakyRelu, Slopes) {
  for (double s : {0.0, 0.01, 0.2, 1.0, 3.0, -0.5}) {
    ActTester().op(Act::LeakyRelu).slope(s).dtype(KN_FLOAT32).test_forward();
    ActTester().op(Act::LeakyRelu).slope(s).dtype(KN_FLOAT64).layout("x", Layout::reverse()).test_backward();
    if (s >= 0) ActTester().op(Act::LeakyRelu).slope(s).self_is_result().dtype(KN_FLOAT64).test_backward();
  }
}

TEST(LeakyRelu, NegativeInfinity) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(run_scalar_forward<double>(Act::LeakyRelu, {-inf}, 0.5)[0], -inf);
}

TEST(LeakyRelu, ScalarArgumentErrors) {
  HostTensor x({3, 4}, KN_FLOAT64), y({3, 4}, KN_FLOAT64), dy({3, 4}, KN_FLOAT64);
  y.fill(std::nan(""));
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn();
  const kn_status INVALID = KN_ERR_INVALID_ARGUMENT;
  const double inf = std::numeric_limits<double>::infinity();
  for (double s : {std::nan(""), inf, -inf}) {
    expect_error(kn_leaky_relu_forward(s, &xk, &yk, nullptr), INVALID, "kn_leaky_relu_forward: negative_slope", y);
    expect_error(kn_leaky_relu_backward(s, 0, &dyk, &xk, &yk, nullptr), INVALID,
                 "kn_leaky_relu_backward: negative_slope", y);
  }
  for (int32_t flag : {-1, 2}) {
    expect_error(kn_leaky_relu_backward(0.1, flag, &dyk, &xk, &yk, nullptr), INVALID,
                 "kn_leaky_relu_backward: self_is_result", y);
  }
  // torch's rule: the backward of an in-place leaky_relu needs a slope >= 0.
  expect_error(kn_leaky_relu_backward(-0.1, 1, &dyk, &xk, &yk, nullptr), INVALID,
               "kn_leaky_relu_backward: self_is_result", y);
  EXPECT_NE(std::string(kn_last_error()).find("negative slope"), std::string::npos) << kn_last_error();
  KN_EXPECT_OK(kn_leaky_relu_backward(-0.1, 0, &dyk, &xk, &yk, nullptr));
  KN_EXPECT_OK(kn_leaky_relu_backward(0.0, 1, &dyk, &xk, &yk, nullptr));
}

}  // namespace
}  // namespace kntest
