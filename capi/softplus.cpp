// C entry points of softplus: validate the tensors (capi/elementwise.hpp) and the
// scalar parameters, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/formulas/softplus.hpp"
#include "kernels/ops/softplus.hpp"

namespace {

void check_params(kn::capi::OpValidator& v, double beta, double threshold) {
#ifdef KN_SOFTPLUS_FORMULAS_TODO
  v.require(false, KN_ERR_UNSUPPORTED, "the formulas are not written yet: ", KN_SOFTPLUS_FORMULAS_TODO,
            ", then delete the KN_SOFTPLUS_FORMULAS_TODO line there");
#endif
  kn::capi::check_scalar(v, "beta", beta, kn::capi::Scalar::Nonzero);
  kn::capi::check_scalar(v, "threshold", threshold, kn::capi::Scalar::Any);
}

}  // namespace

extern "C" {

kn_status kn_softplus_forward(double beta, double threshold, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  const char* op = "kn_softplus_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v, beta, threshold);
    kn::capi::unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::softplus_forward(beta, threshold, X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::softplus_forward(beta, threshold, X, Y, ctx); });
    });
  });
}

kn_status kn_softplus_backward(double beta, double threshold, const kn_tensor* dy, const kn_tensor* x,
                             const kn_tensor* dx, const kn_exec* ex) {
  const char* op = "kn_softplus_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v, beta, threshold);
    kn::capi::unary_backward(v, dy, x, "x", dx,
                             [&](const kn_tensor& DY, const kn_tensor& S, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::softplus_backward(beta, threshold, DY, S, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::softplus_backward(beta, threshold, DY, S, DX, ctx); });
    });
  });
}

}  // extern "C"
