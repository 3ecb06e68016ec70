// C entry points of the cross-entropy loss: validate, then run the CPU or
// CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/class_loss.hpp"
#include "kernels/ops/cross_entropy.hpp"

extern "C" {

kn_status kn_cross_entropy_forward(const kn_cross_entropy_params* p, const kn_tensor* input,
                                   const kn_tensor* target, const kn_tensor* weight,
                                   const kn_tensor* out, const kn_tensor* total_weight,
                                   const kn_exec* ex) {
  return kn::capi::guard("kn_cross_entropy_forward", [&] {
    using namespace kn::capi;
    OpValidator v("kn_cross_entropy_forward");
    const kn_cross_entropy_params& P = check_params(v, p, true);
    const kn_tensor& I = v.input(input, "input");
    const kn_tensor& T = v.input(target, "target", -1, Kind::Index);
    const int64_t classes = check_input_target(v, I, "input", T);
    const kn_tensor* W = check_weight(v, weight, classes);
    const kn_tensor& O = v.output(out, "out");
    check_reduced(v, P.reduction, T, O, "out");
    const kn_tensor& TW = v.output(total_weight, "total_weight", 0);
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) { kn::cpu::cross_entropy_forward(P, I, T, W, O, TW, ctx); },
        [&](const auto& ctx) { kn::cuda::cross_entropy_forward(P, I, T, W, O, TW, ctx); });
  });
}

kn_status kn_cross_entropy_backward(const kn_cross_entropy_params* p, const kn_tensor* dout,
                                    const kn_tensor* input, const kn_tensor* target,
                                    const kn_tensor* weight, const kn_tensor* total_weight,
                                    const kn_tensor* dinput, const kn_exec* ex) {
  return kn::capi::guard("kn_cross_entropy_backward", [&] {
    using namespace kn::capi;
    OpValidator v("kn_cross_entropy_backward");
    const kn_cross_entropy_params& P = check_params(v, p, true);
    const kn_tensor& G = v.input(dout, "dout");
    const kn_tensor& I = v.input(input, "input");
    const kn_tensor& T = v.input(target, "target", -1, Kind::Index);
    const int64_t classes = check_input_target(v, I, "input", T);
    const kn_tensor* W = check_weight(v, weight, classes);
    const kn_tensor& TW = v.input(total_weight, "total_weight", 0);
    check_reduced(v, P.reduction, T, G, "dout");
    const kn_tensor& DI = v.output(dinput, "dinput");
    v.same_shape(I, "input", DI, "dinput");
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::cross_entropy_backward(P, G, I, T, W, TW, DI, ctx);
        },
        [&](const auto& ctx) { kn::cuda::cross_entropy_backward(P, G, I, T, W, TW, DI, ctx); });
  });
}

}  // extern "C"
