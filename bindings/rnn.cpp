// pykernels._C: the recurrent-layer bindings (kernels/rnn.h).
//
// The kn_rnn_params fields come first as plain arguments: mode (RNN_TANH,
// RNN_RELU, LSTM, GRU), reverse, hidden_size, proj_size, batch_sizes (None =
// padded, else a sequence of ints: a packed sequence's batch sizes).
#include <optional>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/common.hpp"
#include "kernels/rnn.h"

using namespace knpy;

namespace {

struct Params {
  std::vector<int64_t> batch_sizes;
  kn_rnn_params p{};
  Params(int32_t mode, bool reverse, int64_t hidden_size, int64_t proj_size,
         const std::optional<std::vector<int64_t>>& sizes) {
    p.mode = mode;
    p.reverse = reverse ? 1 : 0;
    p.hidden_size = hidden_size;
    p.proj_size = proj_size;
    if (sizes) {
      // An empty list stays a packed sequence (with 0 steps: the library's
      // error), never NULL (= padded).
      batch_sizes = *sizes;
      batch_sizes.push_back(0);
      p.batch_sizes = batch_sizes.data();
      p.num_steps = static_cast<int64_t>(sizes->size());
    }
  }
};

// The workspace as a 1-D uint8 array / descriptor, or None.
void set_workspace(kn_exec& e, const TensorArg& ws) {
  const kn_tensor* t = ws.get();
  if (!t) return;
  int64_t n = 1;
  for (int d = 0; d < t->ndim; ++d) n *= t->shape[d];
  e.workspace = t->data;
  e.workspace_bytes = n > 0 ? static_cast<size_t>(n) : 0;
  if (n == 0) e.workspace = nullptr;
}

}  // namespace

KN_BINDINGS(rnn) {
  m.attr("RNN_TANH") = int(KN_RNN_TANH);
  m.attr("RNN_RELU") = int(KN_RNN_RELU);
  m.attr("LSTM") = int(KN_LSTM);
  m.attr("GRU") = int(KN_GRU);

  m.def(
      "rnn_reserve_cols",
      [](int32_t mode, int64_t hidden_size, int64_t proj_size) {
        const Params P(mode, false, hidden_size, proj_size, std::nullopt);
        int64_t cols = 0;
        call([&] { return kn_rnn_reserve_cols(&P.p, &cols); });
        return cols;
      },
      "mode"_a, "hidden_size"_a, "proj_size"_a = 0,
      "Columns of the reserve tensor (rows = (step, sequence) pairs).");

  m.def(
      "rnn_backward_workspace_size",
      [](int32_t mode, int64_t hidden_size, int64_t proj_size, int64_t rows, int64_t N,
         int32_t dtype) {
        const Params P(mode, false, hidden_size, proj_size, std::nullopt);
        size_t bytes = 0;
        call([&] { return kn_rnn_backward_workspace_size(&P.p, rows, N, dtype, &bytes); });
        return bytes;
      },
      "mode"_a, "hidden_size"_a, "proj_size"_a, "rows"_a, "N"_a, "dtype"_a,
      "Bytes of scratch kn_rnn_backward needs on CUDA (pass it as workspace=).");

  m.def(
      "rnn_forward",
      [](int32_t mode, bool reverse, int64_t hidden_size, int64_t proj_size,
         std::optional<std::vector<int64_t>> batch_sizes, py::handle x, py::handle h0,
         py::handle c0, py::handle w_ih, py::handle w_hh, py::handle b_ih, py::handle b_hh,
         py::handle w_hr, py::handle y, py::handle h_n, py::handle c_n, py::handle reserve,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_rnn_forward";
        const Params P(mode, reverse, hidden_size, proj_size, batch_sizes);
        const TensorArg X(x, op, "x", In), H0(h0, op, "h0", In, Optional),
            C0(c0, op, "c0", In, Optional), Wih(w_ih, op, "w_ih", In), Whh(w_hh, op, "w_hh", In),
            Bih(b_ih, op, "b_ih", In, Optional), Bhh(b_hh, op, "b_hh", In, Optional),
            Whr(w_hr, op, "w_hr", In, Optional), Y(y, op, "y", Out),
            Hn(h_n, op, "h_n", Out, Optional), Cn(c_n, op, "c_n", Out, Optional),
            R(reserve, op, "reserve", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_rnn_forward(&P.p, X.get(), H0.get(), C0.get(), Wih.get(), Whh.get(),
                                Bih.get(), Bhh.get(), Whr.get(), Y.get(), Hn.get(), Cn.get(),
                                R.get(), &e);
        });
      },
      "mode"_a, "reverse"_a, "hidden_size"_a, "proj_size"_a, "batch_sizes"_a.none(true), "x"_a,
      "h0"_a.none(true), "c0"_a.none(true), "w_ih"_a, "w_hh"_a, "b_ih"_a.none(true),
      "b_hh"_a.none(true), "w_hr"_a.none(true), "y"_a, "h_n"_a.none(true), "c_n"_a.none(true),
      "reserve"_a, KN_EXEC_ARGS,
      "One recurrent layer, one direction, over a whole sequence (kernels/rnn.h): "
      "x:(T,N,I) or packed (total,I) -> y, h_n, c_n, reserve (rows, rnn_reserve_cols).");

  m.def(
      "rnn_backward",
      [](int32_t mode, bool reverse, int64_t hidden_size, int64_t proj_size,
         std::optional<std::vector<int64_t>> batch_sizes, py::handle x, py::handle w_ih,
         py::handle w_hh, py::handle w_hr, py::handle reserve, py::handle dy, py::handle dh_n,
         py::handle dc_n, py::handle dx, py::handle dh0, py::handle dc0, py::handle dw_ih,
         py::handle dw_hh, py::handle db_ih, py::handle db_hh, py::handle dw_hr,
         py::handle workspace, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_rnn_backward";
        const Params P(mode, reverse, hidden_size, proj_size, batch_sizes);
        const TensorArg X(x, op, "x", In, Optional), Wih(w_ih, op, "w_ih", In, Optional),
            Whh(w_hh, op, "w_hh", In), Whr(w_hr, op, "w_hr", In, Optional),
            R(reserve, op, "reserve", In), DY(dy, op, "dy", In, Optional),
            DHn(dh_n, op, "dh_n", In, Optional), DCn(dc_n, op, "dc_n", In, Optional),
            DX(dx, op, "dx", Out, Optional), DH0(dh0, op, "dh0", Out, Optional),
            DC0(dc0, op, "dc0", Out, Optional), DWih(dw_ih, op, "dw_ih", Out, Optional),
            DWhh(dw_hh, op, "dw_hh", Out, Optional), DBih(db_ih, op, "db_ih", Out, Optional),
            DBhh(db_hh, op, "db_hh", Out, Optional), DWhr(dw_hr, op, "dw_hr", Out, Optional),
            WS(workspace, op, "workspace", Out, Optional);
        kn_exec e = make_exec(stream, num_threads);
        set_workspace(e, WS);
        call([&] {
          return kn_rnn_backward(&P.p, X.get(), Wih.get(), Whh.get(), Whr.get(), R.get(), DY.get(),
                                 DHn.get(), DCn.get(), DX.get(), DH0.get(), DC0.get(), DWih.get(),
                                 DWhh.get(), DBih.get(), DBhh.get(), DWhr.get(), &e);
        });
      },
      "mode"_a, "reverse"_a, "hidden_size"_a, "proj_size"_a, "batch_sizes"_a.none(true),
      "x"_a.none(true), "w_ih"_a.none(true), "w_hh"_a, "w_hr"_a.none(true), "reserve"_a,
      "dy"_a.none(true), "dh_n"_a.none(true), "dc_n"_a.none(true), "dx"_a.none(true),
      "dh0"_a.none(true), "dc0"_a.none(true), "dw_ih"_a.none(true), "dw_hh"_a.none(true),
      "db_ih"_a.none(true), "db_hh"_a.none(true), "dw_hr"_a.none(true),
      "workspace"_a.none(true) = py::none(), KN_EXEC_ARGS,
      "Backward through time of rnn_forward (same params): dx, dh0, dc0, dw_ih, dw_hh, db_ih, "
      "db_hh, dw_hr (None = not needed); dy, dh_n, dc_n None = zeros. On CUDA pass workspace "
      "(uint8, rnn_backward_workspace_size bytes).");
}
