// pykernels._C: the cross_entropy bindings (kn_*_forward / kn_*_backward of kernels/cross_entropy.h).
#include "bindings/common.hpp"
#include "kernels/cross_entropy.h"

using namespace knpy;

KN_BINDINGS(cross_entropy) {
  m.def(
      "cross_entropy_forward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle input,
         py::handle target, py::handle weight, py::handle out, py::handle total_weight,
         std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_cross_entropy_forward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg I(input, op, "input", In), T(target, op, "target", In),
            W(weight, op, "weight", In, Optional), O(out, op, "out", Out),
            TW(total_weight, op, "total_weight", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_cross_entropy_forward(&p, I.get(), T.get(), W.get(), O.get(), TW.get(), &e);
        });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "input"_a, "target"_a,
      "weight"_a.none(true), "out"_a, "total_weight"_a, KN_EXEC_ARGS,
      "out = cross_entropy(logits input (N,C,...)|(C,), class targets), total_weight (0-d).");
  m.def(
      "cross_entropy_backward",
      [](int32_t reduction, int64_t ignore_index, double label_smoothing, py::handle dout,
         py::handle input, py::handle target, py::handle weight, py::handle total_weight,
         py::handle dinput, std::uintptr_t stream, int32_t num_threads) {
        const char* op = "kn_cross_entropy_backward";
        const kn_cross_entropy_params p{reduction, ignore_index, label_smoothing};
        const TensorArg DO(dout, op, "dout", In), I(input, op, "input", In),
            T(target, op, "target", In), W(weight, op, "weight", In, Optional),
            TW(total_weight, op, "total_weight", In), DI(dinput, op, "dinput", Out);
        const kn_exec e = make_exec(stream, num_threads);
        call([&] {
          return kn_cross_entropy_backward(&p, DO.get(), I.get(), T.get(), W.get(), TW.get(),
                                           DI.get(), &e);
        });
      },
      "reduction"_a, "ignore_index"_a, "label_smoothing"_a, "dout"_a, "input"_a, "target"_a,
      "weight"_a.none(true), "total_weight"_a, "dinput"_a, KN_EXEC_ARGS,
      "dinput = g ((1-e) w_t (softmax - onehot) + (e/C)(W softmax - w)); 0 in ignored rows.");
}
