// pykernels._C: the leaky_relu bindings (kernels/leaky_relu.h).
#include "bindings/common.hpp"
#include "kernels/leaky_relu.h"

using namespace knpy;

KN_BINDINGS(leaky_relu) {
  m.def(
      "leaky_relu_forward",
      [](double negative_slope, py::handle x, py::handle y, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_leaky_relu_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_leaky_relu_forward(negative_slope, X.get(), Y.get(), &e); });
      },
      "negative_slope"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
      "y = x > 0 ? x : negative_slope * x; y may be x.");

  m.def(
      "leaky_relu_backward",
      [](double negative_slope, bool self_is_result, py::handle dy, py::handle self,
         py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_leaky_relu_backward";
        const TensorArg DY(dy, op, "dy", In), S(self, op, "self", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_leaky_relu_backward(negative_slope, self_is_result ? 1 : 0, DY.get(), S.get(),
                                        DX.get(), &e);
        });
      },
      "negative_slope"_a, "self_is_result"_a, "dy"_a, "self"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = self > 0 ? dy : negative_slope * dy; self is x, or y when self_is_result "
      "(needs negative_slope >= 0).");
}
