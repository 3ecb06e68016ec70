// kn_softplus_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=softplus
#include "elementwise_tester.hpp"
#include "kernels/softplus.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = softplus(x; beta, threshold), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  [[maybe_unused]] const double beta = p[0];
  [[maybe_unused]] const double threshold = p[1];
  return beta * x > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
}

// REFERENCE derivative: dsoftplus/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  [[maybe_unused]] const double beta = p[0];
  [[maybe_unused]] const double threshold = p[1];
  return beta * x > threshold ? 1.0 : 1.0 / (1.0 + std::exp(-beta * x));
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "softplus";
  op.params = {
      {"beta", 1.0, kntest::ScalarKind::Float, kntest::ScalarRule::Nonzero},
      {"threshold", 20.0, kntest::ScalarKind::Float, kntest::ScalarRule::Any}
  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_softplus_forward(static_cast<double>(p[0]), static_cast<double>(p[1]), x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_softplus_backward(static_cast<double>(p[0]), static_cast<double>(p[1]), dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef SOFTPLUS_REFERENCE_TODO
  op.reference_todo = SOFTPLUS_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Softplus, spec)

// Tests of this op alone go here: an example. Above the threshold softplus is
// the identity, bit for bit (torch's rule), however large x is: no overflow
// of exp(beta x) leaks through.
TEST(SoftplusAlone, IdentityAboveTheThreshold) {
  kntest::HostTensor x({5}, KN_FLOAT32), y({5}, KN_FLOAT32);
  x.set_values({20.5, 25.0, 1e3, 3e38, 21.0});
  const kn_tensor xk = x.kn(), yk = y.kn();
  KN_ASSERT_OK(kn_softplus_forward(1.0, 20.0, &xk, &yk, nullptr));
  EXPECT_EQ(y.values(), x.values());
  // beta = 2: the threshold applies to beta x, so x = 10.5 is linear, x = 1 is not.
  x.set_values({10.5, 1, 0, -1, 40});
  KN_ASSERT_OK(kn_softplus_forward(2.0, 20.0, &xk, &yk, nullptr));
  EXPECT_EQ(y.values()[0], 10.5);
  EXPECT_NEAR(y.values()[1], std::log1p(std::exp(2.0)) / 2, 1e-6);
}
