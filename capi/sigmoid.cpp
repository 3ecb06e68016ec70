// C entry points of sigmoid: validate, then run the CPU or CUDA kernel
// (kernels/cpu/sigmoid.cpp, kernels/cuda/sigmoid.cu).
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/ops/sigmoid.hpp"

namespace {

using kn::capi::unary_backward;
using kn::capi::unary_forward;

}  // namespace

extern "C" {

kn_status kn_sigmoid_forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  const char* op = "kn_sigmoid_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::sigmoid_forward(X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::sigmoid_forward(X, Y, ctx); });
    });
  });
}

kn_status kn_sigmoid_backward(const kn_tensor* dy, const kn_tensor* y, const kn_tensor* dx,
                              const kn_exec* ex) {
  const char* op = "kn_sigmoid_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    unary_backward(v, dy, y, "y", dx, [&](const kn_tensor& DY, const kn_tensor& Y, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::sigmoid_backward(DY, Y, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::sigmoid_backward(DY, Y, DX, ctx); });
    });
  });
}

}  // extern "C"
