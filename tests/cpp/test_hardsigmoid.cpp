// kn_hardsigmoid_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=hardsigmoid
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/hardsigmoid.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = hardsigmoid(x), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;  // relu6(x + 3) / 6
}

// REFERENCE derivative: dhardsigmoid/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  return std::fabs(x) < 3.0 ? 1.0 / 6.0 : 0.0;  // 0 at the kinks, as torch
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "hardsigmoid";
  op.params = {

  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_hardsigmoid_forward(x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_hardsigmoid_backward(dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef HARDSIGMOID_REFERENCE_TODO
  op.reference_todo = HARDSIGMOID_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Hardsigmoid, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct HardsigmoidRun {
  std::vector<double> y, dx;
};
HardsigmoidRun hardsigmoid_run(const std::vector<double>& xs) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_hardsigmoid_forward(&xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_hardsigmoid_backward(&dyk, &xk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// The kinks at -3 and 3: the gradient is 0 there (torch's open interval), 1/6
// just inside; NaN gives NaN forward and 0 backward, +-inf 1 and 0, as torch.
TEST(HardsigmoidAlone, KinksAndSpecialValues) {
  const double above = std::nextafter(-3.0f, 0.0f), below3 = std::nextafter(3.0f, 0.0f);
  const double inf = std::numeric_limits<double>::infinity();
  const HardsigmoidRun r = hardsigmoid_run({-3, above, below3, 3, -inf, inf, std::nan(""), 0});
  const std::vector<double> want_y = {0, (above + 3) / 6, (below3 + 3) / 6, 1, 0, 1, 0, 0.5};
  const std::vector<double> want_dx = {0, 1.0 / 6, 1.0 / 6, 0, 0, 0, 0, 1.0 / 6};
  for (size_t i = 0; i < want_y.size(); ++i) {
    if (i == 6) {
      EXPECT_TRUE(std::isnan(r.y[i]));
    } else {
      EXPECT_NEAR(r.y[i], want_y[i], 1e-7) << "i = " << i;
    }
    EXPECT_NEAR(r.dx[i], want_dx[i], 1e-8) << "i = " << i;
  }
}
