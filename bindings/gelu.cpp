// pykernels._C: the gelu bindings (kernels/gelu.h), and the codes of
// kn_gelu_approximate as GELU_NONE, GELU_TANH.
#include "bindings/common.hpp"
#include "kernels/gelu.h"

using namespace knpy;

KN_BINDINGS(gelu) {
  m.attr("GELU_NONE") = int(KN_GELU_NONE);
  m.attr("GELU_TANH") = int(KN_GELU_TANH);

  m.def(
      "gelu_forward",
      [](int approximate, py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_gelu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gelu_forward(static_cast<kn_gelu_approximate>(approximate), X.get(), Y.get(), &e);
        });
      },
      "approximate"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
      "GELU (approximate = GELU_NONE: x Phi(x); GELU_TANH: the tanh form); y may be x.");

  m.def(
      "gelu_backward",
      [](int approximate, py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_gelu_backward";
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gelu_backward(static_cast<kn_gelu_approximate>(approximate), DY.get(), X.get(),
                                  DX.get(), &e);
        });
      },
      "approximate"_a, "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * gelu'(x).");
}
