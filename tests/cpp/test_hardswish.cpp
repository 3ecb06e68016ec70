// kn_hardswish_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=hardswish
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/hardswish.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = hardswish(x), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;  // x relu6(x + 3) / 6
}

// REFERENCE derivative: dhardswish/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  // 0 below -3, 1 above 3, (2x + 3) / 6 between; at the kinks torch's one-sided
  // choices (0 at -3, 1 at 3).
  return x <= -3.0 ? 0.0 : x >= 3.0 ? 1.0 : (2.0 * x + 3.0) / 6.0;
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "hardswish";
  op.params = {

  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_hardswish_forward(x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_hardswish_backward(dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef HARDSWISH_REFERENCE_TODO
  op.reference_todo = HARDSWISH_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Hardswish, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct HardswishRun {
  std::vector<double> y, dx;
};
HardswishRun hardswish_run(const std::vector<double>& xs) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_hardswish_forward(&xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_hardswish_backward(&dyk, &xk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// The kinks at -3 and 3 and their neighbours, forward and backward, with torch's
// one-sided choices (measured on torch 2.13: the gradient is 0 at -3 and dy at 3);
// -inf gives NaN forward (-inf * 0) and 0 backward, NaN gives dy backward, as torch.
TEST(HardswishAlone, KinksAndSpecialValues) {
  const double below = std::nextafter(-3.0f, -4.0f), above = std::nextafter(-3.0f, 0.0f);
  const double below3 = std::nextafter(3.0f, 0.0f), above3 = std::nextafter(3.0f, 4.0f);
  const double inf = std::numeric_limits<double>::infinity();
  const HardswishRun r = hardswish_run({below, -3, above, below3, 3, above3, -inf, inf, std::nan(""), -0.0});
  EXPECT_EQ(r.y[0], 0.0);
  EXPECT_EQ(r.y[1], 0.0);
  EXPECT_TRUE(std::signbit(r.y[1]));  // -3 * 0 = -0, as torch
  EXPECT_NEAR(r.y[2], above * (above + 3) / 6, 1e-12);
  EXPECT_NEAR(r.y[3], below3 * (below3 + 3) / 6, 4e-7);
  EXPECT_EQ(r.y[4], 3.0);
  EXPECT_EQ(r.y[5], above3);
  EXPECT_TRUE(std::isnan(r.y[6]));
  EXPECT_EQ(r.y[7], inf);
  EXPECT_TRUE(std::isnan(r.y[8]));
  EXPECT_TRUE(std::signbit(r.y[9]));
  const std::vector<double> want_dx = {0, 0, above / 3 + 0.5, below3 / 3 + 0.5, 1, 1, 0, 1, 1, 0.5};
  for (size_t i = 0; i < want_dx.size(); ++i) EXPECT_NEAR(r.dx[i], want_dx[i], 1e-6) << "i = " << i;
}
