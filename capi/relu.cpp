// C entry points of ReLU: validate, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/relu.hpp"

extern "C" {

kn_status kn_relu_forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn::capi::guard("kn_relu_forward", [&] {
    kn::capi::OpValidator v("kn_relu_forward");
    const kn_tensor& X = v.input(x, "x");
    v.allow_in_place();
    const kn_tensor& Y = v.output(y, "y");
    v.same_shape(X, "x", Y, "y");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::relu_forward(X, Y, ctx); },
        [&](const auto& ctx) { kn::cuda::relu_forward(X, Y, ctx); });
  });
}

kn_status kn_relu_backward(const kn_tensor* dy, const kn_tensor* x, const kn_tensor* dx,
                           const kn_exec* ex) {
  return kn::capi::guard("kn_relu_backward", [&] {
    kn::capi::OpValidator v("kn_relu_backward");
    const kn_tensor& DY = v.input(dy, "dy");
    const kn_tensor& X = v.input(x, "x");
    v.same_shape(DY, "dy", X, "x");
    v.allow_in_place();
    const kn_tensor& DX = v.output(dx, "dx");
    v.same_shape(DY, "dy", DX, "dx");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::relu_backward(DY, X, DX, ctx); },
        [&](const auto& ctx) { kn::cuda::relu_backward(DY, X, DX, ctx); });
  });
}

}  // extern "C"
