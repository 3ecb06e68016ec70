// pykernels._C: the silu bindings (kernels/silu.h).
#include "bindings/common.hpp"
#include "kernels/silu.h"

using namespace knpy;

KN_BINDINGS(silu) {
  m.def(
      "silu_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_silu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_silu_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS, "y = silu(x); x, y of one shape; y may be x.");

  m.def(
      "silu_backward",
      [](py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_silu_backward";
        const TensorArg DY(dy, op, "dy", In), S(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_silu_backward(DY.get(), S.get(), DX.get(), &e); });
      },
      "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * dsilu/dx from its input x; dy, x, dx of one shape; dx may be dy.");
}
