// pykernels._C: the hardsigmoid bindings (kernels/hardsigmoid.h).
#include "bindings/common.hpp"
#include "kernels/hardsigmoid.h"

using namespace knpy;

KN_BINDINGS(hardsigmoid) {
  m.def(
      "hardsigmoid_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_hardsigmoid_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_hardsigmoid_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = hardsigmoid(x); x, y of one shape; y may be x.");

  m.def(
      "hardsigmoid_backward",
      [](py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_hardsigmoid_backward";
        const TensorArg DY(dy, op, "dy", In), S(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_hardsigmoid_backward(DY.get(), S.get(), DX.get(), &e); });
      },
      "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * dhardsigmoid/dx from its input x; dy, x, dx of one shape; dx may be dy.");
}
