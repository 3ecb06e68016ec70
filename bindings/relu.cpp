// pykernels._C: the relu bindings (kn_*_forward / kn_*_backward of kernels/relu.h).
#include "bindings/common.hpp"
#include "kernels/relu.h"

using namespace knpy;

KN_BINDINGS(relu) {
  m.def(
      "relu_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_relu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_relu_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = max(x, 0); x, y of one shape; y may be x (in place).");

  m.def(
      "relu_backward",
      [](py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_relu_backward";
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_relu_backward(DY.get(), X.get(), DX.get(), &e); });
      },
      "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * (x > 0); dy, x, dx of one shape.");
}
