// kn_@@op@@_* through the C ABI against a naive double-precision reference:
// the whole element-wise suite of tests/cpp/elementwise_tester.hpp (layouts,
// size 0, in place, threads, finite differences, every validation error,
// bad scalars). Run alone: make check OP=@@op@@
#include "elementwise_tester.hpp"
#include "kernels/@@op@@.h"

namespace {

using kntest::Params;

#define @@OP@@_REFERENCE_TODO "write reference_forward() and reference_derivative() in tests/cpp/test_@@op@@.cpp"  // TODO: delete

// REFERENCE forward: y = @@op@@(x@@doc_params@@), in double, from the definition
// (not from the kernel's formula). p: the parameters in C order.
double reference_forward(double x, const Params& p) {
@@ref_params@@  return x;  // TODO(@@op@@)
}

// REFERENCE derivative: d@@op@@/dx at x (the backward is dy times this).
double reference_derivative(double x, const Params& p) {
@@ref_params@@  return 1;  // TODO(@@op@@)
}

kntest::ElementwiseOp spec() {
  kntest::ElementwiseOp op;
  op.name = "@@op@@";
  op.params = {
@@cpp_params@@
  };
  op.backward_from_output = @@from_output@@;
  op.forward = [](const Params& p, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
    return kn_@@op@@_forward(@@cpp_p_cast@@x, y, ex);
  };
  op.backward = [](const Params& p, const kn_tensor* dy, const kn_tensor* saved, const kn_tensor* dx,
                   const kn_exec* ex) { return kn_@@op@@_backward(@@cpp_p_cast@@dy, saved, dx, ex); };
  op.reference_forward = reference_forward;
  op.reference_derivative = reference_derivative;
#ifdef @@OP@@_REFERENCE_TODO
  op.reference_todo = @@OP@@_REFERENCE_TODO;
#endif
  return op;
}

}  // namespace

KN_ELEMENTWISE_OP_TESTS(@@Op@@, spec)

// Tests of this op alone go here (see tests/cpp/test_softplus.cpp).
