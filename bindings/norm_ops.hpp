// The pykernels._C bindings shared by the normalisation ops whose C entries are
//   kn_<op>_forward(p, x, weight?, bias?, y, mean, rstd, ex)
//   kn_<op>_backward(p, dy, x, weight?, mean, rstd, dx?, dweight?, dbias?, ex)
// with p = {<one integer parameter>, eps} (layer_norm.cpp: normalized_ndim,
// group_norm.cpp: num_groups). Each op names its entries, its parameter and
// the shapes in the docstrings.
#pragma once

#include "bindings/common.hpp"

namespace knpy {

struct NormOpNames {
  const char* forward;       // "layer_norm_forward": the Python names
  const char* backward;
  const char* c_forward;     // "kn_layer_norm_forward": the C entries, for messages
  const char* c_backward;
  const char* param;         // the keyword of p's integer field
  const char* forward_doc;
  const char* backward_doc;
};

template <typename Params, typename Param, typename Forward, typename Backward>
void def_norm_ops(py::module_& m, const NormOpNames& n, Forward forward, Backward backward) {
  m.def(
      n.forward,
      [forward, op = n.c_forward](Param param, double eps, py::handle x, py::handle weight,
                                  py::handle bias, py::handle y, py::handle mean, py::handle rstd,
                                  std::uintptr_t stream, int32_t num_threads) {
        const Params p{param, eps};
        const TensorArg X(x, op, "x", In), W(weight, op, "weight", In, Optional),
            B(bias, op, "bias", In, Optional), Y(y, op, "y", Out), M(mean, op, "mean", Out),
            S(rstd, op, "rstd", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return forward(&p, X.get(), W.get(), B.get(), Y.get(), M.get(), S.get(), &e); });
      },
      py::arg(n.param), "eps"_a, "x"_a, "weight"_a.none(true), "bias"_a.none(true), "y"_a, "mean"_a,
      "rstd"_a, KN_EXEC_ARGS, n.forward_doc);

  m.def(
      n.backward,
      [backward, op = n.c_backward](Param param, double eps, py::handle dy, py::handle x,
                                    py::handle weight, py::handle mean, py::handle rstd, py::handle dx,
                                    py::handle dweight, py::handle dbias, std::uintptr_t stream,
                                    int32_t num_threads) {
        const Params p{param, eps};
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In), W(weight, op, "weight", In, Optional),
            M(mean, op, "mean", In), S(rstd, op, "rstd", In), DX(dx, op, "dx", Out, Optional),
            DW(dweight, op, "dweight", Out, Optional), DB(dbias, op, "dbias", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return backward(&p, DY.get(), X.get(), W.get(), M.get(), S.get(), DX.get(), DW.get(), DB.get(), &e);
        });
      },
      py::arg(n.param), "eps"_a, "dy"_a, "x"_a, "weight"_a.none(true), "mean"_a, "rstd"_a,
      "dx"_a.none(true), "dweight"_a.none(true), "dbias"_a.none(true), KN_EXEC_ARGS, n.backward_doc);
}

}  // namespace knpy
