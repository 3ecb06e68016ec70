// kn_sigmoid_* through the C ABI against a naive double-precision reference:
// the activation suite of activation_tester.hpp (layouts, size 0, in place,
// threads, finite differences, special values, every validation error), and
// sigmoid's own checks below. Run alone: make check OP=sigmoid
#include "activation_tester.hpp"

KN_ACTIVATION_TESTS(Sigmoid, Act::Sigmoid)

namespace kntest {
namespace {

TEST(Sigmoid, IsStableForLargeMagnitudes) {
  // float: expf(90) overflows, so 1 / (1 + exp(-x)) would give exactly 0.
  const auto f = run_scalar_forward<float>(Act::Sigmoid, {-90.f, -100.f, 90.f, -1e30f, 1e30f});
  EXPECT_NEAR(f[0] / std::exp(-90.0), 1.0, 1e-4);
  EXPECT_GT(f[1], 0.f);
  EXPECT_EQ(f[2], 1.f);
  EXPECT_EQ(f[3], 0.f);
  EXPECT_EQ(f[4], 1.f);
  const auto d = run_scalar_forward<double>(Act::Sigmoid, {-710.0, -745.0, 710.0, -20.0});
  EXPECT_NEAR(d[0] / std::exp(-710.0), 1.0, 1e-12);
  EXPECT_GT(d[1], 0.0);
  EXPECT_EQ(d[2], 1.0);
  EXPECT_NEAR(d[3] / (1.0 / (1.0 + std::exp(20.0))), 1.0, 1e-15);
}

TEST(Sigmoid, NegativeInfinity) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(run_scalar_forward<double>(Act::Sigmoid, {-inf})[0], 0.0);
}

}  // namespace
}  // namespace kntest
