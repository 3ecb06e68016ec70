// C entry points of softmax and log_softmax: validate, then run the CPU or
// CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/softmax.hpp"

namespace {

void forward(bool log, const char* op, int32_t dim, const kn_tensor* x, const kn_tensor* y,
             const kn_exec* ex) {
  kn::capi::OpValidator v(op);
  const kn_tensor& X = v.input(x, "x");
  v.require(X.ndim >= 1, KN_ERR_SHAPE_MISMATCH,
            "x: expected at least 1 dim (a 0-d tensor has no dim to normalise), got shape ",
            kn::shape_string(X));
  v.expect_range(dim, "dim", 0, X.ndim - 1);
  v.allow_in_place();
  const kn_tensor& Y = v.output(y, "y");
  v.same_shape(X, "x", Y, "y");
  v.run(
      ex, [&](const kn::CpuContext& ctx) { kn::cpu::softmax_forward(log, dim, X, Y, ctx); },
      [&](const auto& ctx) { kn::cuda::softmax_forward(log, dim, X, Y, ctx); });
}

void backward(bool log, const char* op, int32_t dim, const kn_tensor* dy, const kn_tensor* y,
              const kn_tensor* dx, const kn_exec* ex) {
  kn::capi::OpValidator v(op);
  const kn_tensor& DY = v.input(dy, "dy");
  const kn_tensor& Y = v.input(y, "y");
  v.same_shape(DY, "dy", Y, "y");
  v.require(Y.ndim >= 1, KN_ERR_SHAPE_MISMATCH, "y: expected at least 1 dim, got shape ",
            kn::shape_string(Y));
  v.expect_range(dim, "dim", 0, Y.ndim - 1);
  v.allow_in_place();
  const kn_tensor& DX = v.output(dx, "dx");
  v.same_shape(Y, "y", DX, "dx");
  v.run(
      ex, [&](const kn::CpuContext& ctx) { kn::cpu::softmax_backward(log, dim, DY, Y, DX, ctx); },
      [&](const auto& ctx) { kn::cuda::softmax_backward(log, dim, DY, Y, DX, ctx); });
}

}  // namespace

extern "C" {

kn_status kn_softmax_forward(int32_t dim, const kn_tensor* x, const kn_tensor* y,
                             const kn_exec* ex) {
  return kn::capi::guard("kn_softmax_forward",
                         [&] { forward(false, "kn_softmax_forward", dim, x, y, ex); });
}

kn_status kn_softmax_backward(int32_t dim, const kn_tensor* dy, const kn_tensor* y,
                              const kn_tensor* dx, const kn_exec* ex) {
  return kn::capi::guard("kn_softmax_backward",
                         [&] { backward(false, "kn_softmax_backward", dim, dy, y, dx, ex); });
}

kn_status kn_log_softmax_forward(int32_t dim, const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex) {
  return kn::capi::guard("kn_log_softmax_forward",
                         [&] { forward(true, "kn_log_softmax_forward", dim, x, y, ex); });
}

kn_status kn_log_softmax_backward(int32_t dim, const kn_tensor* dy, const kn_tensor* y,
                                  const kn_tensor* dx, const kn_exec* ex) {
  return kn::capi::guard("kn_log_softmax_backward",
                         [&] { backward(true, "kn_log_softmax_backward", dim, dy, y, dx, ex); });
}

}  // extern "C"
