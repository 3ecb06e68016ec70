// pykernels._C: the hardtanh bindings (kernels/hardtanh.h).
#include "bindings/common.hpp"
#include "kernels/hardtanh.h"

using namespace knpy;

KN_BINDINGS(hardtanh) {
  m.def(
      "hardtanh_forward",
      [](double min_val, double max_val, py::handle x, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_hardtanh_forward";
        const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_hardtanh_forward(min_val, max_val, X.get(), Y.get(), &e); });
      },
      "min_val"_a, "max_val"_a, "x"_a, "y"_a, KN_EXEC_ARGS, "y = hardtanh(x; min_val, max_val); x, y of one shape; y may be x.");

  m.def(
      "hardtanh_backward",
      [](double min_val, double max_val, py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_hardtanh_backward";
        const TensorArg DY(dy, op, "dy", In), S(y, op, "y", In), DX(dx, op, "dx", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_hardtanh_backward(min_val, max_val, DY.get(), S.get(), DX.get(), &e); });
      },
      "min_val"_a, "max_val"_a, "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS,
      "dx = dy * dhardtanh/dx from its output y; dy, y, dx of one shape; dx may be dy.");
}
