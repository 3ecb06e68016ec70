// kn_elu_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=elu
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/elu.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = elu(x; alpha), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  [[maybe_unused]] const double alpha = p[0];
  return x < 0.0 ? alpha * std::expm1(x) : x;  // x at +-0, as torch
}

// REFERENCE derivative: delu/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  [[maybe_unused]] const double alpha = p[0];
  return x > 0.0 ? 1.0 : alpha * std::exp(x);
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "elu";
  op.params = {
      {"alpha", 1.0, kntest::ScalarKind::Float, kntest::ScalarRule::Any}
  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_elu_forward(static_cast<double>(p[0]), x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_elu_backward(static_cast<double>(p[0]), dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef ELU_REFERENCE_TODO
  op.reference_todo = ELU_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Elu, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct EluRun {
  std::vector<double> y, dx;
};
EluRun elu_run(const std::vector<double>& xs, double alpha) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_elu_forward(alpha, &xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_elu_backward(alpha, &dyk, &xk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// The tails: near 0, alpha expm1(x) keeps its relative precision (exp(x) - 1
// would cancel), far left it is -alpha; alpha < 0 and alpha = 0 are meaningful
// (torch takes them) and accepted.
TEST(EluAlone, ExpM1TailsAndAnyAlpha) {
  std::vector<double> xs;
  for (double e = -30; e <= 1.5; e += 0.125) xs.push_back(-std::pow(10.0, e));
  for (double v = -100; v <= 0; v += 0.5) xs.push_back(v);
  for (double alpha : {1.0, 0.5, -1.5, 0.0}) {
    const EluRun r = elu_run(xs, alpha);
    for (size_t i = 0; i < xs.size(); ++i) {
      const double x = static_cast<float>(xs[i]);  // the value the kernel sees
      const double want = alpha * std::expm1(x), dwant = alpha * std::exp(x);
      EXPECT_NEAR(r.y[i], want, 6 * 0x1p-24 * std::fabs(want)) << "x = " << xs[i] << " alpha = " << alpha;
      EXPECT_NEAR(r.dx[i], dwant, 6 * 0x1p-24 * std::fabs(dwant) + 1e-40) << "x = " << xs[i] << " alpha = " << alpha;
    }
  }
  const double inf = std::numeric_limits<double>::infinity();
  const EluRun s = elu_run({-inf, inf, std::nan(""), -0.0, 0.0}, 1.0);
  EXPECT_EQ(s.y[0], -1.0);
  EXPECT_EQ(s.y[1], inf);
  EXPECT_TRUE(std::isnan(s.y[2]));
  EXPECT_TRUE(std::signbit(s.y[3]));  // expm1(-0) = -0, as torch
  const std::vector<double> want_dx = {0, 1, 1, 1, 1};  // torch's select: dy at NaN
  for (size_t i = 0; i < want_dx.size(); ++i) EXPECT_EQ(s.dx[i], want_dx[i]) << "i = " << i;
  // At +-0 the forward is x itself (torch's x < 0 select), so alpha < 0 keeps the
  // sign of zero; the backward takes the x <= 0 side there: alpha.
  const EluRun z = elu_run({0.0, -0.0}, -1.5);
  EXPECT_EQ(z.y[0], 0.0);
  EXPECT_FALSE(std::signbit(z.y[0]));
  EXPECT_TRUE(std::signbit(z.y[1]));
  EXPECT_EQ(z.dx, (std::vector<double>{-1.5, -1.5}));
}
