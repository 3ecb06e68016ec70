// C entry points of elu: validate the tensors (capi/elementwise.hpp) and the
// scalar parameters, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/formulas/elu.hpp"
#include "kernels/ops/elu.hpp"

namespace {

void check_params(kn::capi::OpValidator& v, double alpha) {
#ifdef KN_ELU_FORMULAS_TODO
  v.require(false, KN_ERR_UNSUPPORTED, "the formulas are not written yet: ", KN_ELU_FORMULAS_TODO,
            ", then delete the KN_ELU_FORMULAS_TODO line there");
#endif
  kn::capi::check_scalar(v, "alpha", alpha, kn::capi::Scalar::Any);
}

}  // namespace

extern "C" {

kn_status kn_elu_forward(double alpha, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  const char* op = "kn_elu_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v, alpha);
    kn::capi::unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::elu_forward(alpha, X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::elu_forward(alpha, X, Y, ctx); });
    });
  });
}

kn_status kn_elu_backward(double alpha, const kn_tensor* dy, const kn_tensor* x,
                             const kn_tensor* dx, const kn_exec* ex) {
  const char* op = "kn_elu_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v, alpha);
    kn::capi::unary_backward(v, dy, x, "x", dx,
                             [&](const kn_tensor& DY, const kn_tensor& S, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::elu_backward(alpha, DY, S, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::elu_backward(alpha, DY, S, DX, ctx); });
    });
  });
}

}  // extern "C"
