// kn_relu6_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=relu6
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/relu6.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = relu6(x), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  return std::min(std::max(x, 0.0), 6.0);
}

// REFERENCE derivative: drelu6/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  return x > 0.0 && x < 6.0 ? 1.0 : 0.0;  // 0 at the kinks, as torch
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "relu6";
  op.params = {

  };
  op.backward_from_output = true;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_relu6_forward(x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_relu6_backward(dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef RELU6_REFERENCE_TODO
  op.reference_todo = RELU6_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Relu6, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct Relu6Run {
  std::vector<double> y, dx;
};
Relu6Run relu6_run(const std::vector<double>& xs) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_relu6_forward(&xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_relu6_backward(&dyk, &yk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// The kinks at 0 and 6 (gradient 0 there, from y as from x), -0 kept, NaN gives
// NaN forward and dy backward, as torch's hardtanh(x, 0, 6).
TEST(Relu6Alone, KinksAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const Relu6Run r = relu6_run({0, -0.0, 1e-30, 6, 5.999999, 7, -inf, inf, std::nan("")});
  const std::vector<double> want_dx = {0, 0, 1, 0, 1, 0, 0, 0, 1};
  EXPECT_EQ(r.y[0], 0.0);
  EXPECT_TRUE(std::signbit(r.y[1]));
  EXPECT_EQ(r.y[2], 1e-30f);
  EXPECT_EQ(r.y[3], 6.0);
  EXPECT_EQ(r.y[5], 6.0);
  EXPECT_EQ(r.y[6], 0.0);
  EXPECT_EQ(r.y[7], 6.0);
  EXPECT_TRUE(std::isnan(r.y[8]));
  for (size_t i = 0; i < want_dx.size(); ++i) EXPECT_EQ(r.dx[i], want_dx[i]) << "i = " << i;
}
