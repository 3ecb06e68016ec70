// C entry points of leaky_relu: validate (the slope, self_is_result), then run
// the CPU or CUDA kernel (kernels/cpu/leaky_relu.cpp, kernels/cuda/leaky_relu.cu).
#include <cmath>

#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/ops/leaky_relu.hpp"

namespace {

using kn::capi::unary_backward;
using kn::capi::unary_forward;

void check_slope(kn::capi::OpValidator& v, double slope) {
  v.require(std::isfinite(slope), KN_ERR_INVALID_ARGUMENT,
            "negative_slope: expected a finite value, got ", slope);
}

}  // namespace

extern "C" {

kn_status kn_leaky_relu_forward(double negative_slope, const kn_tensor* x, const kn_tensor* y,
                                const kn_exec* ex) {
  const char* op = "kn_leaky_relu_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_slope(v, negative_slope);
    unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::leaky_relu_forward(negative_slope, X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::leaky_relu_forward(negative_slope, X, Y, ctx); });
    });
  });
}

kn_status kn_leaky_relu_backward(double negative_slope, int32_t self_is_result,
                                 const kn_tensor* dy, const kn_tensor* self, const kn_tensor* dx,
                                 const kn_exec* ex) {
  const char* op = "kn_leaky_relu_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_slope(v, negative_slope);
    v.expect_range(self_is_result, "self_is_result", 0, 1);
    v.require(!self_is_result || negative_slope >= 0.0, KN_ERR_INVALID_ARGUMENT,
              "self_is_result: the backward of an in-place leaky_relu needs negative_slope >= 0 "
              "(the sign of x cannot be recovered from the result), got negative slope ",
              negative_slope, "; use the out-of-place forward instead");
    unary_backward(v, dy, self, "self", dx,
                   [&](const kn_tensor& DY, const kn_tensor& S, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::leaky_relu_backward(negative_slope, DY, S, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::leaky_relu_backward(negative_slope, DY, S, DX, ctx); });
    });
  });
}

}  // extern "C"
