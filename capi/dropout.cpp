// C entry points of dropout: validate, then run the CPU or CUDA kernel
// (kernels/cpu/dropout.cpp, kernels/cuda/dropout.cu).
#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/dropout.hpp"

namespace {

void check_p(kn::capi::OpValidator& v, double p) {
  // Written so that NaN fails too.
  v.require(p >= 0.0 && p <= 1.0, KN_ERR_INVALID_ARGUMENT,
            "p: dropout probability must be in [0, 1], got ", p);
}

}  // namespace

extern "C" {

kn_status kn_dropout_forward(double p, uint64_t seed, const kn_tensor* x, const kn_tensor* y,
                             const kn_tensor* mask, const kn_exec* ex) {
  return kn::capi::guard("kn_dropout_forward", [&] {
    kn::capi::OpValidator v("kn_dropout_forward");
    check_p(v, p);
    const kn_tensor& X = v.input(x, "x");
    v.allow_in_place();
    const kn_tensor& Y = v.output(y, "y");
    v.same_shape(X, "x", Y, "y");
    const kn_tensor& M = v.output(mask, "mask", -1, kn::capi::Kind::Mask);
    v.same_shape(X, "x", M, "mask");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::dropout_forward(p, seed, X, Y, M, ctx); },
        [&](const auto& ctx) { kn::cuda::dropout_forward(p, seed, X, Y, M, ctx); });
  });
}

kn_status kn_dropout_backward(double p, const kn_tensor* dy, const kn_tensor* mask,
                              const kn_tensor* dx, const kn_exec* ex) {
  return kn::capi::guard("kn_dropout_backward", [&] {
    kn::capi::OpValidator v("kn_dropout_backward");
    check_p(v, p);
    const kn_tensor& DY = v.input(dy, "dy");
    const kn_tensor& M = v.input(mask, "mask", -1, kn::capi::Kind::Mask);
    v.same_shape(DY, "dy", M, "mask");
    v.allow_in_place();
    const kn_tensor& DX = v.output(dx, "dx");
    v.same_shape(DY, "dy", DX, "dx");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::dropout_backward(p, DY, M, DX, ctx); },
        [&](const auto& ctx) { kn::cuda::dropout_backward(p, DY, M, DX, ctx); });
  });
}

}  // extern "C"
