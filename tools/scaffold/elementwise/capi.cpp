// C entry points of @@op@@: validate the tensors (capi/elementwise.hpp) and the
// scalar parameters, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/formulas/@@op@@.hpp"
#include "kernels/ops/@@op@@.hpp"

namespace {

void check_params(kn::capi::OpValidator& v@@k_params_trailing@@) {
#ifdef KN_@@OP@@_FORMULAS_TODO
  v.require(false, KN_ERR_UNSUPPORTED, "the formulas are not written yet: ", KN_@@OP@@_FORMULAS_TODO,
            ", then delete the KN_@@OP@@_FORMULAS_TODO line there");
#endif
@@capi_checks@@}

}  // namespace

extern "C" {

kn_status kn_@@op@@_forward(@@c_params@@const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  const char* op = "kn_@@op@@_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v@@call_params@@);
    kn::capi::unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::@@op@@_forward(@@k_args@@X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::@@op@@_forward(@@k_args@@X, Y, ctx); });
    });
  });
}

kn_status kn_@@op@@_backward(@@c_params@@const kn_tensor* dy, const kn_tensor* @@saved@@,
                             const kn_tensor* dx, const kn_exec* ex) {
  const char* op = "kn_@@op@@_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v@@call_params@@);
    kn::capi::unary_backward(v, dy, @@saved@@, "@@saved@@", dx,
                             [&](const kn_tensor& DY, const kn_tensor& S, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::@@op@@_backward(@@k_args@@DY, S, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::@@op@@_backward(@@k_args@@DY, S, DX, ctx); });
    });
  });
}

}  // extern "C"
