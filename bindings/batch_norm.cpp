// pykernels._C: the batch_norm bindings (kn_batch_norm_forward / _backward of
// kernels/batch_norm.h). Optional tensors are None.
#include "bindings/common.hpp"
#include "kernels/batch_norm.h"

using namespace knpy;

KN_BINDINGS(batch_norm) {
  m.def(
      "batch_norm_forward",
      [](bool training, double momentum, double eps, py::handle x, py::handle weight,
         py::handle bias, py::handle running_mean, py::handle running_var, py::handle y,
         py::handle save_mean, py::handle save_invstd, std::uintptr_t stream,
         int32_t num_threads) {
        const char* op = "kn_batch_norm_forward";
        const kn_batch_norm_params p{eps, momentum, training ? 1 : 0};
        const TensorArg X(x, op, "x", In), W(weight, op, "weight", In, Optional),
            B(bias, op, "bias", In, Optional), RM(running_mean, op, "running_mean", Out, Optional),
            RV(running_var, op, "running_var", Out, Optional), Y(y, op, "y", Out),
            SM(save_mean, op, "save_mean", Out), SI(save_invstd, op, "save_invstd", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_batch_norm_forward(&p, X.get(), W.get(), B.get(), RM.get(), RV.get(), Y.get(),
                                       SM.get(), SI.get(), &e);
        });
      },
      "training"_a, "momentum"_a, "eps"_a, "x"_a, "weight"_a, "bias"_a, "running_mean"_a,
      "running_var"_a, "y"_a, "save_mean"_a, "save_invstd"_a, KN_EXEC_ARGS,
      "x:(N,C,*) -> y = (x - mean) invstd weight + bias, save_mean/save_invstd:(C); training: "
      "batch stats (running stats updated in place when given), eval: running stats.");

  m.def(
      "batch_norm_backward",
      [](bool training, py::handle dy, py::handle x, py::handle weight, py::handle save_mean,
         py::handle save_invstd, py::handle dx, py::handle dweight, py::handle dbias,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_batch_norm_backward";
        const kn_batch_norm_params p{0.0, 0.0, training ? 1 : 0};
        const TensorArg DY(dy, op, "dy", In), X(x, op, "x", In), W(weight, op, "weight", In, Optional),
            SM(save_mean, op, "save_mean", In), SI(save_invstd, op, "save_invstd", In),
            DX(dx, op, "dx", Out, Optional), DW(dweight, op, "dweight", Out, Optional),
            DB(dbias, op, "dbias", Out, Optional);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_batch_norm_backward(&p, DY.get(), X.get(), W.get(), SM.get(), SI.get(),
                                        DX.get(), DW.get(), DB.get(), &e);
        });
      },
      "training"_a, "dy"_a, "x"_a, "weight"_a, "save_mean"_a, "save_invstd"_a, "dx"_a,
      "dweight"_a, "dbias"_a, KN_EXEC_ARGS,
      "dy, x:(N,C,*), save_mean/save_invstd from the forward -> dx (N,C,*), dweight, dbias "
      "(C); each output may be None.");
}
