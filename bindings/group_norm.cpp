// pykernels._C: the group_norm bindings (kn_group_norm_forward / _backward of kernels/group_norm.h).
#include "bindings/common.hpp"
#include "kernels/group_norm.h"

using namespace knpy;

KN_BINDINGS(group_norm) {
  m.def(
      "group_norm_forward",
      [](int64_t num_groups, double eps, py::handle x, py::handle weight, py::handle bias,
         py::handle y, py::handle mean, py::handle rstd, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_group_norm_forward";
        const kn_group_norm_params p{num_groups, eps};
        const TensorArg X(x, op, "x", In), W(weight, op, "weight", In, Optional),
            B(bias, op, "bias", In, Optional), Y(y, op, "y", Out), M(mean, op, "mean", Out),
            S(rstd, op, "rstd", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_group_norm_forward(&p, X.get(), W.get(), B.get(), Y.get(), M.get(), S.get(), &e);
        });
      },
      "num_groups"_a, "eps"_a, "x"_a, "weight"_a.none(true), "bias"_a.none(true), "y"_a,
      "mean"_a, "rstd"_a, KN_EXEC_ARGS,
      "x:(N,C,*), weight, bias:(C,) or None -> "
      "y:(N,C,*), mean, rstd:(N,G), written in place.");

  m.def(
      "group_norm_backward",
      [](int64_t num_groups, double eps, py::handle dy, py::handle x, py::handle weight,
         py::handle mean, py::handle rstd, py::handle dx, py::handle dweight, py::handle dbias,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_group_norm_backward";
        const kn_group_norm_params p{num_groups, eps};
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In),
            W(weight, op, "weight", In, Optional), M(mean, op, "mean", In), S(rstd, op, "rstd", In),
            DX(dx, op, "dx", Out, Optional), DW(dweight, op, "dweight", Out, Optional),
            DB(dbias, op, "dbias", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_group_norm_backward(&p, DY.get(), X.get(), W.get(), M.get(), S.get(), DX.get(),
                                        DW.get(), DB.get(), &e);
        });
      },
      "num_groups"_a, "eps"_a, "dy"_a, "x"_a, "weight"_a.none(true), "mean"_a, "rstd"_a,
      "dx"_a.none(true), "dweight"_a.none(true), "dbias"_a.none(true), KN_EXEC_ARGS,
      "dy, x:(N,C,*), weight or None, mean, rstd:(N,G) -> dx, dweight, dbias (each None = "
      "not needed), written in place.");
}
