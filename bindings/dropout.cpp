// pykernels._C: the dropout bindings (kn_*_forward / kn_*_backward of kernels/dropout.h).
#include "bindings/common.hpp"
#include "kernels/dropout.h"

using namespace knpy;

KN_BINDINGS(dropout) {
  m.def(
      "dropout_forward",
      [](double p, std::uint64_t seed, py::handle x, py::handle y, py::handle mask,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_dropout_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out), M(mask, op, "mask", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_dropout_forward(p, seed, X.get(), Y.get(), M.get(), &e); });
      },
      "p"_a, "seed"_a, "x"_a, "y"_a, "mask"_a, KN_EXEC_ARGS,
      "mask = Philox keep-mask of (seed, shape) with P(keep) = 1 - p (uint8 or bool); "
      "y = x * mask / (1 - p); y may be x.");

  m.def(
      "dropout_backward",
      [](double p, py::handle dy, py::handle mask, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_dropout_backward";
        const TensorArg DY(dy, op, "dy", In), M(mask, op, "mask", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_dropout_backward(p, DY.get(), M.get(), DX.get(), &e); });
      },
      "p"_a, "dy"_a, "mask"_a, "dx"_a, KN_EXEC_ARGS, "dx = dy * mask / (1 - p); dx may be dy.");
}
