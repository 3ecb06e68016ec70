// pykernels._C: the nll_loss bindings (kn_*_forward / kn_*_backward of kernels/nll_loss.h).
#include "bindings/common.hpp"
#include "kernels/nll_loss.h"

using namespace knpy;

KN_BINDINGS(nll_loss) {
  // Class-index losses: the kn_cross_entropy_params fields are plain arguments.
  m.def(
      "nll_loss_forward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle input,
         py::handle target, py::handle weight, py::handle out, py::handle total_weight,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_nll_loss_forward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg I(input, op, "input", In), T(target, op, "target", In),
            W(weight, op, "weight", In, Optional), O(out, op, "out", Out),
            TW(total_weight, op, "total_weight", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] { return kn_nll_loss_forward(&p, I.get(), T.get(), W.get(), O.get(), TW.get(), &e); });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "input"_a, "target"_a,
      "weight"_a.none(true), "out"_a, "total_weight"_a, KN_EXEC_ARGS,
      "out = nll_loss(input (N,C,...)|(C,), target (N,...)|()), total_weight (0-d) = sum of "
      "weight[target] over non-ignored targets; label_smoothing must be 0.");
  m.def(
      "nll_loss_backward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle dout,
         py::handle target, py::handle weight, py::handle total_weight, py::handle dinput,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_nll_loss_backward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg DO(dout, op, "dout", In), T(target, op, "target", In),
            W(weight, op, "weight", In, Optional), TW(total_weight, op, "total_weight", In),
            DI(dinput, op, "dinput", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_nll_loss_backward(&p, DO.get(), T.get(), W.get(), TW.get(), DI.get(), &e);
        });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "dout"_a, "target"_a,
      "weight"_a.none(true), "total_weight"_a, "dinput"_a, KN_EXEC_ARGS,
      "dinput[n, t_n] = -weight[t_n] g_n, 0 elsewhere (g_n = dout[n] | dout | dout / total_weight).");
}
