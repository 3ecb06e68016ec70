// pykernels._C: the mse_loss bindings (kn_*_forward / kn_*_backward of kernels/mse_loss.h).
#include "bindings/common.hpp"
#include "kernels/mse_loss.h"

using namespace knpy;

KN_BINDINGS(mse_loss) {
  m.def(
      "mse_loss_forward",
      [](int reduction, py::handle input, py::handle target, py::handle out,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_mse_loss_forward";
        const TensorArg I(input, op, "input", In), T(target, op, "target", In),
            O(out, op, "out", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_mse_loss_forward(static_cast<kn_reduction>(reduction), I.get(), T.get(),
                                     O.get(), &e);
        });
      },
      "reduction"_a, "input"_a, "target"_a, "out"_a, KN_EXEC_ARGS,
      "out = reduce((input - target)^2); out has input's shape for REDUCTION_NONE, else ndim 0.");

  m.def(
      "mse_loss_backward",
      [](int reduction, py::handle dout, py::handle input, py::handle target, py::handle dinput,
         py::handle dtarget, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_mse_loss_backward";
        const TensorArg DO(dout, op, "dout", In), I(input, op, "input", In),
            T(target, op, "target", In), DI(dinput, op, "dinput", Out, Optional),
            DT(dtarget, op, "dtarget", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_mse_loss_backward(static_cast<kn_reduction>(reduction), DO.get(), I.get(),
                                      T.get(), DI.get(), DT.get(), &e);
        });
      },
      "reduction"_a, "dout"_a, "input"_a, "target"_a, "dinput"_a.none(true),
      "dtarget"_a.none(true), KN_EXEC_ARGS,
      "dinput = 2 (input - target) dout [/ numel for MEAN], dtarget = -dinput; None = not needed.");
}
