// pykernels._C: the adaptive_pool2d bindings (kernels/adaptive_pool2d.h). The output
// size is the output array's shape.
#include "bindings/common.hpp"
#include "kernels/adaptive_pool2d.h"

using namespace knpy;

KN_BINDINGS(adaptive_pool2d) {
  m.def(
      "adaptive_avg_pool2d_forward",
      [](py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_adaptive_avg_pool2d_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_adaptive_avg_pool2d_forward(X.get(), Y.get(), &e); });
      },
      "x"_a, "y"_a, KN_EXEC_ARGS,
      "x:(N,C,H,W) -> y:(N,C,Ho,Wo): the mean of each adaptive bin (torch's bins).");

  m.def(
      "adaptive_avg_pool2d_backward",
      [](py::handle dy, py::handle dx, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_adaptive_avg_pool2d_backward";
        const TensorArg DY(dy, op, "dy", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_adaptive_avg_pool2d_backward(DY.get(), DX.get(), &e); });
      },
      "dy"_a, "dx"_a, KN_EXEC_ARGS,
      "dy:(N,C,Ho,Wo) -> dx:(N,C,H,W): each dy spread evenly over its bin (deterministic).");

  m.def(
      "adaptive_max_pool2d_forward",
      [](py::handle x, py::handle y, py::handle indices, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_adaptive_max_pool2d_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out), I(indices, op, "indices", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_adaptive_max_pool2d_forward(X.get(), Y.get(), I.get(), &e); });
      },
      "x"_a, "y"_a, "indices"_a, KN_EXEC_ARGS,
      "x:(N,C,H,W) -> y:(N,C,Ho,Wo) bin maxima, indices:(N,C,Ho,Wo) int32/int64 flat argmax h*W+w.");

  m.def(
      "adaptive_max_pool2d_backward",
      [](py::handle dy, py::handle indices, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_adaptive_max_pool2d_backward";
        const TensorArg DY(dy, op, "dy", In), I(indices, op, "indices", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_adaptive_max_pool2d_backward(DY.get(), I.get(), DX.get(), &e); });
      },
      "dy"_a, "indices"_a, "dx"_a, KN_EXEC_ARGS,
      "dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W): dy summed where the indices point, 0 elsewhere.");
}
