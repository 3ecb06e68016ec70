// pykernels._C: the softplus bindings (kernels/softplus.h).
#include "bindings/common.hpp"
#include "kernels/softplus.h"

using namespace knpy;

KN_BINDINGS(softplus) {
  m.def(
      "softplus_forward",
      [](double beta, double threshold, py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_softplus_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_softplus_forward(beta, threshold, X.get(), Y.get(), &e); });
      },
      "beta"_a, "threshold"_a, "x"_a, "y"_a, KN_EXEC_ARGS, "y = softplus(x; beta, threshold); x, y of one shape; y may be x.");

  m.def(
      "softplus_backward",
      [](double beta, double threshold, py::handle dy, py::handle x, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_softplus_backward";
        const TensorArg DY(dy, op, "dy", In), S(x, op, "x", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_softplus_backward(beta, threshold, DY.get(), S.get(), DX.get(), &e); });
      },
      "beta"_a, "threshold"_a, "dy"_a, "x"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * dsoftplus/dx from its input x; dy, x, dx of one shape; dx may be dy.");
}
