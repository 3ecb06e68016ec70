// pykernels._C: the conv2d bindings (kn_*_forward / kn_*_backward of kernels/conv2d.h).
#include "bindings/common.hpp"
#include "kernels/conv2d.h"

using namespace knpy;

KN_BINDINGS(conv2d) {
  // params: stride, padding, dilation as (h, w) pairs of ints, groups an int.
  struct Conv2dParams {
    static void pair(py::handle h, const char* name, int64_t (&out)[2]) {
      try {
        if (!py::isinstance<py::sequence>(h)) throw py::cast_error();
        const auto seq = py::reinterpret_borrow<py::sequence>(h);
        if (seq.size() != 2) throw py::cast_error();
        out[0] = seq[0].cast<int64_t>(), out[1] = seq[1].cast<int64_t>();
      } catch (const py::cast_error&) {
        raise_py(PyExc_TypeError, "kn_conv2d: ", name, ": expected a pair of ints (h, w)");
      }
    }
    static kn_conv2d_params make(py::handle stride, py::handle padding, py::handle dilation,
                                 int64_t groups) {
      kn_conv2d_params p{};
      pair(stride, "stride", p.stride), pair(padding, "padding", p.padding);
      pair(dilation, "dilation", p.dilation);
      p.groups = groups;
      return p;
    }
  };
  m.def(
      "conv2d_forward",
      [](py::handle stride, py::handle padding, py::handle dilation, int64_t groups, py::handle x, py::handle w,
         py::handle b, py::handle y, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_conv2d_forward";
        const kn_conv2d_params p = Conv2dParams::make(stride, padding, dilation, groups);
        const TensorArg X(x, op, "x", In), W(w, op, "w", In), B(b, op, "b", In, Optional),
            Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_conv2d_forward(&p, X.get(), W.get(), B.get(), Y.get(), &e); });
      },
      "stride"_a, "padding"_a, "dilation"_a, "groups"_a, "x"_a, "w"_a, "b"_a.none(true), "y"_a,
      KN_EXEC_ARGS,
      "2-D convolution. x:(N,C,H,W) w:(O,C/groups,kH,kW) b:(O,) or None -> y:(N,O,Ho,Wo), "
      "written in place; stride, padding, dilation: (h, w) pairs.");

  m.def(
      "conv2d_backward",
      [](py::handle stride, py::handle padding, py::handle dilation, int64_t groups, py::handle dy, py::handle x,
         py::handle w, py::handle dx, py::handle dw, py::handle db, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_conv2d_backward";
        const kn_conv2d_params p = Conv2dParams::make(stride, padding, dilation, groups);
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In, Optional),
            W(w, op, "w", In, Optional), DX(dx, op, "dx", Out, Optional),
            DW(dw, op, "dw", Out, Optional), DB(db, op, "db", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_conv2d_backward(&p, DY.get(), X.get(), W.get(), DX.get(), DW.get(), DB.get(),
                                    &e);
        });
      },
      "stride"_a, "padding"_a, "dilation"_a, "groups"_a, "dy"_a, "x"_a.none(true),
      "w"_a.none(true), "dx"_a.none(true), "dw"_a.none(true), "db"_a.none(true), KN_EXEC_ARGS,
      "dy:(N,O,Ho,Wo) x:(N,C,H,W) w:(O,C/groups,kH,kW) -> dx:(N,C,H,W), dw:(O,C/groups,kH,kW), "
      "db:(O,); None = not needed (x may be None without dw, w without dx).");
}
