// pykernels._C: the gspmm bindings (kn_*_forward / kn_*_backward of kernels/gspmm.h).
#include "bindings/common.hpp"
#include "kernels/gspmm.h"

using namespace knpy;

KN_BINDINGS(gspmm) {
  m.attr("GSPMM_COPY_U") = int(KN_GSPMM_COPY_U);
  m.attr("GSPMM_U_MUL_E") = int(KN_GSPMM_U_MUL_E);
  m.attr("GSPMM_SUM") = int(KN_GSPMM_SUM);
  m.attr("GSPMM_MEAN") = int(KN_GSPMM_MEAN);
  m.attr("GSPMM_MAX") = int(KN_GSPMM_MAX);
  m.attr("GSPMM_MIN") = int(KN_GSPMM_MIN);

  m.def(
      "csr_transpose",
      [](py::handle indptr, py::handle indices, py::handle t_indptr, py::handle t_indices,
         py::handle t_edge_ids, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_csr_transpose";
        const TensorArg IP(indptr, op, "indptr", In), IX(indices, op, "indices", In),
            TP(t_indptr, op, "t_indptr", Out), TX(t_indices, op, "t_indices", Out),
            TE(t_edge_ids, op, "t_edge_ids", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_csr_transpose(IP.get(), IX.get(), TP.get(), TX.get(), TE.get(), &e); });
      },
      "indptr"_a, "indices"_a, "t_indptr"_a, "t_indices"_a, "t_edge_ids"_a, KN_EXEC_ARGS,
      "CSR (indptr:(num_dst+1), indices:(E)) -> its transpose t_indptr:(num_src+1), "
      "t_indices:(E) destination ids, t_edge_ids:(E) forward edge positions (one index dtype).");

  m.def(
      "gspmm_forward",
      [](int32_t message, int32_t reduce, int32_t skip_index_check, py::handle indptr,
         py::handle indices, py::handle edge_values, py::handle x, py::handle y, py::handle arg,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_gspmm_forward";
        const kn_gspmm_params p{message, reduce, skip_index_check};
        const TensorArg IP(indptr, op, "indptr", In), IX(indices, op, "indices", In),
            EV(edge_values, op, "edge_values", In, Optional), X(x, op, "x", In),
            Y(y, op, "y", Out), A(arg, op, "arg", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gspmm_forward(&p, IP.get(), IX.get(), EV.get(), X.get(), Y.get(), A.get(), &e);
        });
      },
      "message"_a, "reduce"_a, "skip_index_check"_a, "indptr"_a, "indices"_a,
      "edge_values"_a.none(true), "x"_a, "y"_a, "arg"_a.none(true), KN_EXEC_ARGS,
      "y:(num_dst,F)[v] = REDUCE over edges k of row v of x[indices[k]] (* edge_values[k] for "
      "GSPMM_U_MUL_E); arg:(num_dst,F) winning edge positions for GSPMM_MAX/MIN (else None).");

  m.def(
      "gspmm_backward",
      [](int32_t message, int32_t reduce, int32_t skip_index_check, py::handle dy,
         py::handle indptr, py::handle indices, py::handle t_indptr, py::handle t_indices,
         py::handle t_edge_ids, py::handle edge_values, py::handle x, py::handle arg,
         py::handle dx, py::handle dedge, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_gspmm_backward";
        const kn_gspmm_params p{message, reduce, skip_index_check};
        const TensorArg DY(dy, op, "dy", In), IP(indptr, op, "indptr", In),
            IX(indices, op, "indices", In), TP(t_indptr, op, "t_indptr", In, Optional),
            TX(t_indices, op, "t_indices", In, Optional),
            TE(t_edge_ids, op, "t_edge_ids", In, Optional),
            EV(edge_values, op, "edge_values", In, Optional), X(x, op, "x", In, Optional),
            A(arg, op, "arg", In, Optional), DX(dx, op, "dx", Out, Optional),
            DE(dedge, op, "dedge", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_gspmm_backward(&p, DY.get(), IP.get(), IX.get(), TP.get(), TX.get(), TE.get(),
                                   EV.get(), X.get(), A.get(), DX.get(), DE.get(), &e);
        });
      },
      "message"_a, "reduce"_a, "skip_index_check"_a, "dy"_a, "indptr"_a, "indices"_a,
      "t_indptr"_a.none(true), "t_indices"_a.none(true), "t_edge_ids"_a.none(true),
      "edge_values"_a.none(true), "x"_a.none(true), "arg"_a.none(true), "dx"_a.none(true),
      "dedge"_a.none(true), KN_EXEC_ARGS,
      "dy:(num_dst,F) -> dx:(num_src,F) through the transpose (t_*), dedge:(E) (U_MUL_E, needs "
      "x); None = not needed.");
}
