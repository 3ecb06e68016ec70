// pykernels._C: the @@op@@ bindings (kernels/@@op@@.h).
#include "bindings/common.hpp"
#include "kernels/@@op@@.h"

using namespace knpy;

KN_BINDINGS(@@op@@) {
  m.def(
      "@@op@@_forward",
      [](@@c_params@@py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_@@op@@_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_@@op@@_forward(@@k_args@@X.get(), Y.get(), &e); });
      },
      @@b_names@@"x"_a, "y"_a, KN_EXEC_ARGS, "y = @@op@@(x@@doc_params@@); x, y of one shape; y may be x.");

  m.def(
      "@@op@@_backward",
      [](@@c_params@@py::handle dy, py::handle @@saved@@, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_@@op@@_backward";
        const TensorArg DY(dy, op, "dy", In), S(@@saved@@, op, "@@saved@@", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_@@op@@_backward(@@k_args@@DY.get(), S.get(), DX.get(), &e); });
      },
      @@b_names@@"dy"_a, "@@saved@@"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * d@@op@@/dx from @@saved_doc@@; dy, @@saved@@, dx of one shape; dx may be dy.");
}
