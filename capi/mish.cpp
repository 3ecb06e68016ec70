// C entry points of mish: validate the tensors (capi/elementwise.hpp) and the
// scalar parameters, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/formulas/mish.hpp"
#include "kernels/ops/mish.hpp"

namespace {

void check_params(kn::capi::OpValidator& v) {
#ifdef KN_MISH_FORMULAS_TODO
  v.require(false, KN_ERR_UNSUPPORTED, "the formulas are not written yet: ", KN_MISH_FORMULAS_TODO,
            ", then delete the KN_MISH_FORMULAS_TODO line there");
#endif
}

}  // namespace

extern "C" {

kn_status kn_mish_forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  const char* op = "kn_mish_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v);
    kn::capi::unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::mish_forward(X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::mish_forward(X, Y, ctx); });
    });
  });
}

kn_status kn_mish_backward(const kn_tensor* dy, const kn_tensor* x,
                             const kn_tensor* dx, const kn_exec* ex) {
  const char* op = "kn_mish_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v);
    kn::capi::unary_backward(v, dy, x, "x", dx,
                             [&](const kn_tensor& DY, const kn_tensor& S, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::mish_backward(DY, S, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::mish_backward(DY, S, DX, ctx); });
    });
  });
}

}  // extern "C"
