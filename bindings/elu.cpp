// pykernels._C: the elu bindings (kernels/elu.h).
#include "bindings/common.hpp"
#include "kernels/elu.h"

using namespace knpy;

KN_BINDINGS(elu) {
  m.def(
      "elu_forward",
      [](double alpha, py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_elu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_elu_forward(alpha, X.get(), Y.get(), &e); });
      },
      "alpha"_a, "x"_a, "y"_a, KN_EXEC_ARGS, "y = elu(x; alpha); x, y of one shape; y may be x.");

  m.def(
      "elu_backward",
      [](double alpha, py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_elu_backward";
        const TensorArg DY(dy, op, "dy", In), S(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_elu_backward(alpha, DY.get(), S.get(), DX.get(), &e); });
      },
      "alpha"_a, "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * delu/dx from its input x; dy, x, dx of one shape; dx may be dy.");
}
