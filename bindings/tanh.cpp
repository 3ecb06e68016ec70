// pykernels._C: the tanh bindings (kernels/tanh.h).
#include "bindings/common.hpp"
#include "kernels/tanh.h"

using namespace knpy;

KN_BINDINGS(tanh) {
  m.def(
      "tanh_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_tanh_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_tanh_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = tanh(x); x, y of one shape; y may be x.");

  m.def(
      "tanh_backward",
      [](py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_tanh_backward";
        const TensorArg DY(dy, op, "dy", In), Y(y, op, "y", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_tanh_backward(DY.get(), Y.get(), DX.get(), &e); });
      },
      "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * (1 - y^2) from the forward's output y.");
}
