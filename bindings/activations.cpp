// pykernels._C: the activations bindings (kn_*_forward / kn_*_backward of kernels/activations.h).
#include "bindings/common.hpp"
#include "kernels/activations.h"

using namespace knpy;

KN_BINDINGS(activations) {
  m.attr("GELU_NONE") = int(KN_GELU_NONE);
  m.attr("GELU_TANH") = int(KN_GELU_TANH);

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
