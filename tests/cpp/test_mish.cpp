// kn_mish_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=mish
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/mish.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = mish(x), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  return x * std::tanh(std::log1p(std::exp(x)));  // x tanh(softplus(x))
}

// REFERENCE derivative: dmish/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  const double t = std::tanh(std::log1p(std::exp(x))), s = 1.0 / (1.0 + std::exp(-x));
  return t + x * (1.0 - t * t) * s;  // softplus' = sigmoid, tanh' = 1 - tanh^2
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "mish";
  op.params = {

  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_mish_forward(x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_mish_backward(dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef MISH_REFERENCE_TODO
  op.reference_todo = MISH_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Mish, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct MishRun {
  std::vector<double> y, dx;
};
MishRun mish_run(const std::vector<double>& xs) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_mish_forward(&xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_mish_backward(&dyk, &xk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// Large |x|: far left mish(x) ~ x exp(x) must keep its relative precision (no
// cancellation in tanh(log1p(exp(x)))), far right it is x exactly with slope 1.
TEST(MishAlone, WideRangeAndTails) {
  std::vector<double> xs;
  for (double v = -80; v <= 80; v += 0.0625) xs.push_back(v);
  const MishRun r = mish_run(xs);
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i], t = std::tanh(std::log1p(std::exp(x))), s = 1.0 / (1.0 + std::exp(-x));
    const double d = t + x * (1 - t * t) * s;
    EXPECT_NEAR(r.y[i], x * t, 16 * 0x1p-24 * std::fabs(x * t) + 1e-44) << "x = " << x;
    EXPECT_NEAR(r.dx[i], d, 16 * 0x1p-24 * (std::fabs(t) + std::fabs(x * (1 - t * t) * s)) + 1e-44)
        << "x = " << x;
  }
  const MishRun big = mish_run({20, 21, 30, 1e30, -1e30});
  EXPECT_EQ(big.y[0], 20.0);
  EXPECT_EQ(big.y[1], 21.0);
  EXPECT_EQ(big.y[3], 1e30f);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(big.dx[i], 1.0) << i;
  EXPECT_EQ(big.y[4], 0.0);   // -1e30 * exp(-1e30) = -0, as torch
  EXPECT_EQ(big.dx[4], 0.0);
}
