// kn_hardtanh_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=hardtanh
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_tester.hpp"
#include "kernels/hardtanh.h"

namespace {

using kntest::Params;

// REFERENCE forward: y = hardtanh(x; min_val, max_val), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  [[maybe_unused]] const double min_val = p[0];
  [[maybe_unused]] const double max_val = p[1];
  return std::min(std::max(x, min_val), max_val);
}

// REFERENCE derivative: dhardtanh/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  [[maybe_unused]] const double min_val = p[0];
  [[maybe_unused]] const double max_val = p[1];
  return x > min_val && x < max_val ? 1.0 : 0.0;  // 0 at the kinks, as torch
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "hardtanh";
  op.params = {
      {"min_val", -1.0, kntest::ScalarKind::Float, kntest::ScalarRule::Any},
      {"max_val", 1.0, kntest::ScalarKind::Float, kntest::ScalarRule::Any}
  };
  op.backward_from_output = true;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_hardtanh_forward(static_cast<double>(p[0]), static_cast<double>(p[1]), x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_hardtanh_backward(static_cast<double>(p[0]), static_cast<double>(p[1]), dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef HARDTANH_REFERENCE_TODO
  op.reference_todo = HARDTANH_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Hardtanh, spec)

// Tests of this op alone.

namespace {

// f(x) and dx = f'(x) * 1 at the given float32 values, through the C entries.
struct HardtanhRun {
  std::vector<double> y, dx;
};
HardtanhRun hardtanh_run(const std::vector<double>& xs, double min_val = -1, double max_val = 1) {
  const int64_t n = static_cast<int64_t>(xs.size());
  kntest::HostTensor x({n}, KN_FLOAT32), y({n}, KN_FLOAT32), dy({n}, KN_FLOAT32), dx({n}, KN_FLOAT32);
  x.set_values(xs);
  dy.fill(1.0);
  const kn_tensor xk = x.kn(), yk = y.kn(), dyk = dy.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_hardtanh_forward(min_val, max_val, &xk, &yk, nullptr), KN_OK) << kn_last_error();
  EXPECT_EQ(kn_hardtanh_backward(min_val, max_val, &dyk, &yk, &dxk, nullptr), KN_OK) << kn_last_error();
  return {y.values(), dx.values()};
}

}  // namespace

// The kinks at min_val and max_val (gradient 0 there, from y as from x), -0
// kept, NaN gives NaN forward and dy backward, as torch.
TEST(HardtanhAlone, KinksAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const HardtanhRun r = hardtanh_run({-1, 1, -0.0, 0.5, -2, 2, -inf, inf, std::nan("")});
  const std::vector<double> want_y = {-1, 1, -0.0, 0.5, -1, 1, -1, 1};
  const std::vector<double> want_dx = {0, 0, 1, 1, 0, 0, 0, 0, 1};
  for (size_t i = 0; i < want_y.size(); ++i) EXPECT_EQ(r.y[i], want_y[i]) << "i = " << i;
  EXPECT_TRUE(std::signbit(r.y[2]));
  EXPECT_TRUE(std::isnan(r.y[8]));
  for (size_t i = 0; i < want_dx.size(); ++i) EXPECT_EQ(r.dx[i], want_dx[i]) << "i = " << i;
  // Other bounds, and min_val == max_val: a constant with gradient 0 (torch's functional takes it).
  const HardtanhRun o = hardtanh_run({-3, 0.25, 2.5, 7}, -2, 2.5);
  EXPECT_EQ(o.y, (std::vector<double>{-2, 0.25, 2.5, 2.5}));
  EXPECT_EQ(o.dx, (std::vector<double>{0, 1, 0, 0}));
  const HardtanhRun c = hardtanh_run({-3, 0.5, 7}, 0.5, 0.5);
  EXPECT_EQ(c.y, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(c.dx, (std::vector<double>{0, 0, 0}));
}

// min_val > max_val is refused (torch: "min_val cannot be greater than max_val"),
// forward and backward, nothing written.
TEST(HardtanhAlone, MinAboveMaxRefused) {
  kntest::HostTensor x({3}, KN_FLOAT32), y({3}, KN_FLOAT32), dx({3}, KN_FLOAT32);
  y.fill(7), dx.fill(7);
  const kn_tensor xk = x.kn(), yk = y.kn(), dxk = dx.kn();
  EXPECT_EQ(kn_hardtanh_forward(1.0, -1.0, &xk, &yk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("kn_hardtanh_forward: min_val: expected a value <= max_val"),
            std::string::npos)
      << kn_last_error();
  EXPECT_EQ(kn_hardtanh_backward(2.0, 1.5, &xk, &yk, &dxk, nullptr), KN_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kn_last_error()).find("min_val"), std::string::npos) << kn_last_error();
  EXPECT_EQ(y.values(), (std::vector<double>{7, 7, 7}));
  EXPECT_EQ(dx.values(), (std::vector<double>{7, 7, 7}));
}
