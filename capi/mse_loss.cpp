// C entry points of MSE loss: validate, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/mse_loss.hpp"

namespace {

// out (forward) and dout (backward) have input's shape for NONE, else ndim 0.
void check_reduced(kn::capi::OpValidator& v, kn_reduction reduction, const kn_tensor& input,
                   const kn_tensor& t, const char* name) {
  if (reduction == KN_REDUCTION_NONE)
    v.same_shape(input, "input", t, name);
  else
    v.expect_shape(t, name, {});
}

}  // namespace

extern "C" {

kn_status kn_mse_loss_forward(kn_reduction reduction, const kn_tensor* input,
                              const kn_tensor* target, const kn_tensor* out, const kn_exec* ex) {
  return kn::capi::guard("kn_mse_loss_forward", [&] {
    kn::capi::OpValidator v("kn_mse_loss_forward");
    v.expect_range(kn::capi::enum_value(reduction), "reduction", KN_REDUCTION_NONE, KN_REDUCTION_SUM);
    const kn_tensor& I = v.input(input, "input");
    const kn_tensor& T = v.input(target, "target");
    v.same_shape(I, "input", T, "target");
    v.allow_in_place();
    const kn_tensor& O = v.output(out, "out");
    check_reduced(v, reduction, I, O, "out");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::mse_loss_forward(reduction, I, T, O, ctx); },
        [&](const auto& ctx) { kn::cuda::mse_loss_forward(reduction, I, T, O, ctx); });
  });
}

kn_status kn_mse_loss_backward(kn_reduction reduction, const kn_tensor* dout,
                               const kn_tensor* input, const kn_tensor* target,
                               const kn_tensor* dinput, const kn_tensor* dtarget,
                               const kn_exec* ex) {
  return kn::capi::guard("kn_mse_loss_backward", [&] {
    kn::capi::OpValidator v("kn_mse_loss_backward");
    v.expect_range(kn::capi::enum_value(reduction), "reduction", KN_REDUCTION_NONE, KN_REDUCTION_SUM);
    const kn_tensor& G = v.input(dout, "dout");
    const kn_tensor& I = v.input(input, "input");
    const kn_tensor& T = v.input(target, "target");
    v.same_shape(I, "input", T, "target");
    check_reduced(v, reduction, I, G, "dout");
    v.allow_in_place();
    const kn_tensor* DI = v.optional_output(dinput, "dinput");
    const kn_tensor* DT = v.optional_output(dtarget, "dtarget");
    if (DI) v.same_shape(I, "input", *DI, "dinput");
    if (DT) v.same_shape(I, "input", *DT, "dtarget");
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) { kn::cpu::mse_loss_backward(reduction, G, I, T, DI, DT, ctx); },
        [&](const auto& ctx) { kn::cuda::mse_loss_backward(reduction, G, I, T, DI, DT, ctx); });
  });
}

}  // extern "C"
