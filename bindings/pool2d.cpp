// pykernels._C: the pool2d bindings (kn_*_forward / kn_*_backward of kernels/pool2d.h).
#include "bindings/common.hpp"
#include "kernels/pool2d.h"

using namespace knpy;

KN_BINDINGS(pool2d) {
  {
    // Pooling parameters are plain Python values: pairs (h, w) of ints, bools,
    // an int divisor_override (0 = none).
    struct Pair {
      int64_t v[2];
    };
    static const auto pair = [](py::handle h, const char* op, const char* name) {
      Pair p{};
      if (!py::isinstance<py::sequence>(h) || py::len(h) != 2)
        raise_py(PyExc_TypeError, op, ": ", name, ": expected a pair of ints (h, w)");
      const auto seq = py::reinterpret_borrow<py::sequence>(h);
      try {
        p.v[0] = seq[0].cast<int64_t>(), p.v[1] = seq[1].cast<int64_t>();
      } catch (const py::cast_error&) {
        raise_py(PyExc_TypeError, op, ": ", name, ": expected a pair of ints (h, w)");
      }
      return p;
    };
    static const auto max_params = [](const char* op, py::handle k, py::handle s, py::handle pad,
                                      py::handle d, bool ceil_mode) {
      const Pair K = pair(k, op, "kernel_size"), S = pair(s, op, "stride"),
                 P = pair(pad, op, "padding"), D = pair(d, op, "dilation");
      return kn_max_pool2d_params{{K.v[0], K.v[1]}, {S.v[0], S.v[1]}, {P.v[0], P.v[1]},
                                  {D.v[0], D.v[1]}, ceil_mode ? 1 : 0};
    };
    static const auto avg_params = [](const char* op, py::handle k, py::handle s, py::handle pad,
                                      bool ceil_mode, bool count_include_pad,
                                      int64_t divisor_override) {
      const Pair K = pair(k, op, "kernel_size"), S = pair(s, op, "stride"),
                 P = pair(pad, op, "padding");
      return kn_avg_pool2d_params{{K.v[0], K.v[1]}, {S.v[0], S.v[1]}, {P.v[0], P.v[1]},
                                  ceil_mode ? 1 : 0, count_include_pad ? 1 : 0, divisor_override};
    };

    m.def(
        "max_pool2d_forward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, py::handle dilation,
           bool ceil_mode, py::handle x, py::handle y, py::handle indices, std::uintptr_t stream,
           int32_t num_threads) {
          const char* op = "kn_max_pool2d_forward";
          const kn_max_pool2d_params p = max_params(op, kernel_size, stride, padding, dilation, ceil_mode);
          const TensorArg X(x, op, "x", In), Y(y, op, "y", Out), I(indices, op, "indices", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_max_pool2d_forward(&p, X.get(), Y.get(), I.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a, "x"_a, "y"_a,
        "indices"_a, KN_EXEC_ARGS,
        "x:(N,C,H,W) -> y:(N,C,Ho,Wo) window maxima, indices:(N,C,Ho,Wo) int32/int64 flat "
        "argmax h*W+w; params are (h, w) pairs and a bool.");

    m.def(
        "max_pool2d_backward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, py::handle dilation,
           bool ceil_mode, py::handle dy, py::handle indices, py::handle dx, std::uintptr_t stream,
           int32_t num_threads) {
          const char* op = "kn_max_pool2d_backward";
          const kn_max_pool2d_params p = max_params(op, kernel_size, stride, padding, dilation, ceil_mode);
          const TensorArg DY(dy, op, "dy", In), I(indices, op, "indices", In), DX(dx, op, "dx", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_max_pool2d_backward(&p, DY.get(), I.get(), DX.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "dilation"_a, "ceil_mode"_a, "dy"_a,
        "indices"_a, "dx"_a, KN_EXEC_ARGS,
        "dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W): dy summed where the indices point, 0 elsewhere.");

    m.def(
        "avg_pool2d_forward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, bool ceil_mode,
           bool count_include_pad, int64_t divisor_override, py::handle x, py::handle y,
           std::uintptr_t stream, int32_t num_threads) {
          const char* op = "kn_avg_pool2d_forward";
          const kn_avg_pool2d_params p = avg_params(op, kernel_size, stride, padding, ceil_mode,
                                                    count_include_pad, divisor_override);
          const TensorArg X(x, op, "x", In), Y(y, op, "y", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_avg_pool2d_forward(&p, X.get(), Y.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
        "divisor_override"_a, "x"_a, "y"_a, KN_EXEC_ARGS,
        "x:(N,C,H,W) -> y:(N,C,Ho,Wo) window averages; divisor_override 0 = none.");

    m.def(
        "avg_pool2d_backward",
        [](py::handle kernel_size, py::handle stride, py::handle padding, bool ceil_mode,
           bool count_include_pad, int64_t divisor_override, py::handle dy, py::handle dx,
           std::uintptr_t stream, int32_t num_threads) {
          const char* op = "kn_avg_pool2d_backward";
          const kn_avg_pool2d_params p = avg_params(op, kernel_size, stride, padding, ceil_mode,
                                                    count_include_pad, divisor_override);
          const TensorArg DY(dy, op, "dy", In), DX(dx, op, "dx", Out);
          const kn_exec e = make_exec(stream, num_threads);
          call([&] { return kn_avg_pool2d_backward(&p, DY.get(), DX.get(), &e); });
        },
        "kernel_size"_a, "stride"_a, "padding"_a, "ceil_mode"_a, "count_include_pad"_a,
        "divisor_override"_a, "dy"_a, "dx"_a, KN_EXEC_ARGS,
        "dy:(N,C,Ho,Wo) -> dx:(N,C,H,W): each dy spread evenly (/ divisor) over its window.");
  }
}
