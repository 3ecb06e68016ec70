// pykernels._C: the relu6 bindings (kernels/relu6.h).
#include "bindings/common.hpp"
#include "kernels/relu6.h"

using namespace knpy;

KN_BINDINGS(relu6) {
  m.def(
      "relu6_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_relu6_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_relu6_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = relu6(x); x, y of one shape; y may be x.");

  m.def(
      "relu6_backward",
      [](py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_relu6_backward";
        const TensorArg DY(dy, op, "dy", In), S(y, op, "y", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_relu6_backward(DY.get(), S.get(), DX.get(), &e); });
      },
      "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * drelu6/dx from its output y; dy, y, dx of one shape; dx may be dy.");
}
