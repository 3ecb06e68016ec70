// pykernels._C: the sigmoid bindings (kernels/sigmoid.h).
#include "bindings/common.hpp"
#include "kernels/sigmoid.h"

using namespace knpy;

KN_BINDINGS(sigmoid) {
  m.def(
      "sigmoid_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_sigmoid_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_sigmoid_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = 1 / (1 + exp(-x)); x, y of one shape; y may be x.");

  m.def(
      "sigmoid_backward",
      [](py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_sigmoid_backward";
        const TensorArg DY(dy, op, "dy", In), Y(y, op, "y", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_sigmoid_backward(DY.get(), Y.get(), DX.get(), &e); });
      },
      "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * (1 - y) * y from the forward's output y.");
}
