// pykernels._C: the softmax bindings (kn_*_forward / kn_*_backward of kernels/softmax.h).
#include "bindings/common.hpp"
#include "kernels/softmax.h"

using namespace knpy;

KN_BINDINGS(softmax) {
  for (const bool log : {false, true}) {
    m.def(
        log ? "log_softmax_forward" : "softmax_forward",
        [log](int32_t dim, py::handle x, py::handle y, std::uintptr_t stream,
              int32_t num_threads) {
          const char* op = log ? "kn_log_softmax_forward" : "kn_softmax_forward";
          const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] {
            return log ? kn_log_softmax_forward(dim, X.get(), Y.get(), &e)
                       : kn_softmax_forward(dim, X.get(), Y.get(), &e);
          });
        },
        "dim"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
        log ? "y = log_softmax(x) along dim in [0, ndim); y may be x (in place)."
            : "y = softmax(x) along dim in [0, ndim); y may be x (in place).");
    m.def(
        log ? "log_softmax_backward" : "softmax_backward",
        [log](int32_t dim, py::handle dy, py::handle y, py::handle dx, std::uintptr_t stream,
              int32_t num_threads) {
          const char* op = log ? "kn_log_softmax_backward" : "kn_softmax_backward";
          const TensorArg DY(dy, op, "dy", In), Y(y, op, "y", In), DX(dx, op, "dx", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] {
            return log ? kn_log_softmax_backward(dim, DY.get(), Y.get(), DX.get(), &e)
                       : kn_softmax_backward(dim, DY.get(), Y.get(), DX.get(), &e);
          });
        },
        "dim"_a, "dy"_a, "y"_a, "dx"_a, KN_EXEC_ARGS,
        log ? "dx = dy - exp(y) sum_dim(dy), from the forward OUTPUT y."
            : "dx = y (dy - sum_dim(dy y)), from the forward OUTPUT y.");
  }
}
