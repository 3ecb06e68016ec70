// C entry points of the NLL loss: validate, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/class_loss.hpp"
#include "kernels/ops/nll_loss.hpp"

extern "C" {

kn_status kn_nll_loss_forward(const kn_cross_entropy_params* p, const kn_tensor* input,
                              const kn_tensor* target, const kn_tensor* weight,
                              const kn_tensor* out, const kn_tensor* total_weight,
                              const kn_exec* ex) {
  return kn::capi::guard("kn_nll_loss_forward", [&] {
    using namespace kn::capi;
    OpValidator v("kn_nll_loss_forward");
    const kn_cross_entropy_params& P = check_params(v, p, false);
    const kn_tensor& I = v.input(input, "input");
    const kn_tensor& T = v.input(target, "target", -1, Kind::Index);
    const int64_t classes = check_input_target(v, I, "input", T);
    const kn_tensor* W = check_weight(v, weight, classes);
    const kn_tensor& O = v.output(out, "out");
    check_reduced(v, P.reduction, T, O, "out");
    const kn_tensor& TW = v.output(total_weight, "total_weight", 0);
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) { kn::cpu::nll_loss_forward(P, I, T, W, O, TW, ctx); },
        [&](const auto& ctx) { kn::cuda::nll_loss_forward(P, I, T, W, O, TW, ctx); });
  });
}

kn_status kn_nll_loss_backward(const kn_cross_entropy_params* p, const kn_tensor* dout,
                               const kn_tensor* target, const kn_tensor* weight,
                               const kn_tensor* total_weight, const kn_tensor* dinput,
                               const kn_exec* ex) {
  return kn::capi::guard("kn_nll_loss_backward", [&] {
    using namespace kn::capi;
    OpValidator v("kn_nll_loss_backward");
    const kn_cross_entropy_params& P = check_params(v, p, false);
    const kn_tensor& G = v.input(dout, "dout");
    const kn_tensor& T = v.input(target, "target", -1, Kind::Index);
    const kn_tensor* W = v.optional_input(weight, "weight", 1);
    const kn_tensor& TW = v.input(total_weight, "total_weight", 0);
    const kn_tensor& DI = v.output(dinput, "dinput");
    const int64_t classes = check_input_target(v, DI, "dinput", T);
    if (W) v.expect_shape(*W, "weight", {{classes, "C from the class dim"}});
    check_reduced(v, P.reduction, T, G, "dout");
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) { kn::cpu::nll_loss_backward(P, G, T, W, TW, DI, ctx); },
        [&](const auto& ctx) { kn::cuda::nll_loss_backward(P, G, T, W, TW, DI, ctx); });
  });
}

}  // extern "C"
