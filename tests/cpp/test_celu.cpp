// kn_celu_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=celu
#include "elementwise_tester.hpp"
#include "kernels/celu.h"

namespace {

using kntest::Params;


// REFERENCE forward: y = celu(x; alpha), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
  [[maybe_unused]] const double alpha = p[0];
  return x > 0 ? x : alpha * std::expm1(x / alpha);
}

// REFERENCE derivative: dcelu/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
  [[maybe_unused]] const double alpha = p[0];
  return x > 0 ? 1.0 : std::exp(x / alpha);
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "celu";
  op.params = {
      {"alpha", 1.0, kntest::ScalarKind::Float, kntest::ScalarRule::Nonzero}
  };
  op.backward_from_output = false;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_celu_forward(static_cast<double>(p[0]), x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_celu_backward(static_cast<double>(p[0]), dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef CELU_REFERENCE_TODO
  op.reference_todo = CELU_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(Celu, spec)

// Tests of this op alone go here (see tests/cpp/test_softplus.cpp).
