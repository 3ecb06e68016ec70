// C entry points of hardtanh: validate the tensors (capi/elementwise.hpp) and the
// scalar parameters, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/elementwise.hpp"
#include "kernels/formulas/hardtanh.hpp"
#include "kernels/ops/hardtanh.hpp"

namespace {

void check_params(kn::capi::OpValidator& v, double min_val, double max_val) {
#ifdef KN_HARDTANH_FORMULAS_TODO
  v.require(false, KN_ERR_UNSUPPORTED, "the formulas are not written yet: ", KN_HARDTANH_FORMULAS_TODO,
            ", then delete the KN_HARDTANH_FORMULAS_TODO line there");
#endif
  kn::capi::check_scalar(v, "min_val", min_val, kn::capi::Scalar::Any);
  kn::capi::check_scalar(v, "max_val", max_val, kn::capi::Scalar::Any);
  // torch refuses it too ("min_val cannot be greater than max_val"); min_val == max_val
  // is a constant function, accepted as torch's functional does.
  v.require(!(min_val > max_val), KN_ERR_INVALID_ARGUMENT, "min_val: expected a value <= max_val (",
            max_val, "), got ", min_val);
}

}  // namespace

extern "C" {

kn_status kn_hardtanh_forward(double min_val, double max_val, const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  const char* op = "kn_hardtanh_forward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v, min_val, max_val);
    kn::capi::unary_forward(v, x, y, [&](const kn_tensor& X, const kn_tensor& Y) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::hardtanh_forward(min_val, max_val, X, Y, ctx); },
          [&](const auto& ctx) { kn::cuda::hardtanh_forward(min_val, max_val, X, Y, ctx); });
    });
  });
}

kn_status kn_hardtanh_backward(double min_val, double max_val, const kn_tensor* dy, const kn_tensor* y,
                             const kn_tensor* dx, const kn_exec* ex) {
  const char* op = "kn_hardtanh_backward";
  return kn::capi::guard(op, [&] {
    kn::capi::OpValidator v(op);
    check_params(v, min_val, max_val);
    kn::capi::unary_backward(v, dy, y, "y", dx,
                             [&](const kn_tensor& DY, const kn_tensor& S, const kn_tensor& DX) {
      v.run(
          ex, [&](const kn::CpuContext& ctx) { kn::cpu::hardtanh_backward(min_val, max_val, DY, S, DX, ctx); },
          [&](const auto& ctx) { kn::cuda::hardtanh_backward(min_val, max_val, DY, S, DX, ctx); });
    });
  });
}

}  // extern "C"
