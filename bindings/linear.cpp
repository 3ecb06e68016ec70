// pykernels._C: the linear bindings (kn_*_forward / kn_*_backward of kernels/linear.h).
#include "bindings/common.hpp"
#include "kernels/linear.h"

using namespace knpy;

KN_BINDINGS(linear) {
  m.def(
      "linear_forward",
      [](py::handle x, py::handle w, py::handle b, py::handle y, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_linear_forward";
        const TensorArg X(x, op, "x", In), W(w, op, "w", In), B(b, op, "b", In, Optional),
            Y(y, op, "y", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_linear_forward(X.get(), W.get(), B.get(), Y.get(), &e); });
      },
      "x"_a, "w"_a, "b"_a.none(true), "y"_a, KN_EXEC_ARGS,
      "y = x w^T + b.  x:(N,in) w:(out,in) b:(out,) or None -> y:(N,out), written in place.");

  m.def(
      "linear_backward",
      [](py::handle dy, py::handle x, py::handle w, py::handle dx, py::handle dw, py::handle db,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_linear_backward";
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In, Optional),
            W(w, op, "w", In, Optional), DX(dx, op, "dx", Out, Optional),
            DW(dw, op, "dw", Out, Optional), DB(db, op, "db", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_linear_backward(DY.get(), X.get(), W.get(), DX.get(), DW.get(), DB.get(), &e);
        });
      },
      "dy"_a, "x"_a.none(true), "w"_a.none(true), "dx"_a.none(true), "dw"_a.none(true),
      "db"_a.none(true), KN_EXEC_ARGS,
      "dy:(N,out) x:(N,in) w:(out,in) -> dx:(N,in)=dy w, dw:(out,in)=dy^T x, db:(out,)=sum dy; "
      "None = not needed (x may be None without dw, w without dx).");
}
