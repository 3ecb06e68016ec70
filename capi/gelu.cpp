// C entry points of gelu: validate (approximate), then run the CPU or CUDA
// kernel (kernels/cpu/gelu.cpp, kernels/cuda/gelu.cu).
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/ops/gelu.hpp"

namespace {

using kn::capi::unary_backward;
using kn::capi::unary_forward;

}  // namespace

extern "C" {

kn_status kn_gelu_forward(kn_gelu_approximate approximate, const kn_tensor* x, const kn_tensor* y,
                          const kn_exec* ex) {
  const char* op = "kn_gelu_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    v.expect_range(kn::capi::enum_value(approximate), "approximate", KN_GELU_NONE, KN_GELU_TANH);
    unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::gelu_forward(approximate, X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::gelu_forward(approximate, X, Y, ctx); });
    });
  });
}

kn_status kn_gelu_backward(kn_gelu_approximate approximate, const kn_tensor* dy, const kn_tensor* x,
                           const kn_tensor* dx, const kn_exec* ex) {
  const char* op = "kn_gelu_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    v.expect_range(kn::capi::enum_value(approximate), "approximate", KN_GELU_NONE, KN_GELU_TANH);
    unary_backward(v, dy, x, "x", dx, [&](const kn_tensor& DY, const kn_tensor& X, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::gelu_backward(approximate, DY, X, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::gelu_backward(approximate, DY, X, DX, ctx); });
    });
  });
}

}  // extern "C"
