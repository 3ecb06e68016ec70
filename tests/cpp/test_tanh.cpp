// kn_tanh_* through the C ABI against a naive double-precision reference:
// the activation suite of activation_tester.hpp (layouts, size 0, in place,
// threads, finite differences, special values, every validation error), and
// tanh's own checks below. Run alone: make check OP=tanh
#include "activation_tester.hpp"

KN_ACTIVATION_TESTS(Tanh, Act::Tanh)

namespace kntest {
namespace {

TEST(Tanh, NegativeInfinity) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(run_scalar_forward<double>(Act::Tanh, {-inf})[0], -1.0);
}

}  // namespace
}  // namespace kntest
