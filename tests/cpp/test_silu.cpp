// kn_silu_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=silu
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/silu.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = silu(x), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  return x / (1.0 + std::exp(-x));  // x sigmoid(x)
}

// REFERENCE derivative: dsilu/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  const double s = 1.0 / (1.0 + std::exp(-x));
  return s + x * s * (1.0 - s);  // sigmoid(x) + x sigmoid'(x)
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "silu";
  op.params = {

  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_silu_forward(x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_silu_backward(dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef SILU_REFERENCE_TODO
  op.reference_todo = SILU_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Silu, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct SiluRun {
  std::vector<double> y, dx;
};
SiluRun silu_run(const std::vector<double>& xs) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_silu_forward(&xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_silu_backward(&dyk, &xk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// Large |x|: exp(-x) overflows float at x < -88, silu is then -0 (x / inf), as torch;
// the rest within a few float ulps of the double reference over [-80, 80] (the
// derivative within a few ulps of 1 times |x|: torch's formula, 1 - s for s near 1).
TEST(SiluAlone, WideRangeAndTails) {
  std::vector<double> xs;
  for (double v = -80; v <= 80; v += 0.0625) xs.push_back(v);
  const SiluRun r = silu_run(xs);
  for (size_t i = 0; i < xs.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-xs[i]));
    EXPECT_NEAR(r.y[i], xs[i] * s, 8 * 0x1p-24 * std::fabs(xs[i] * s) + 1e-44) << "x = " << xs[i];
    // torch's s (1 + x (1 - s)): 1 - s rounds to an ulp of 1, times |x|.
    EXPECT_NEAR(r.dx[i], s + xs[i] * s * (1 - s), 8 * 0x1p-24 * s * (1 + std::fabs(xs[i])) + 1e-38)
        << "x = " << xs[i];
  }
  const SiluRun big = silu_run({-100, 100, 1e30});
  EXPECT_EQ(big.y[0], 0.0);
  EXPECT_TRUE(std::signbit(big.y[0]));
  EXPECT_EQ(big.y[1], 100.0);
  EXPECT_EQ(big.dx[1], 1.0);
  EXPECT_EQ(big.y[2], 1e30f);
}
