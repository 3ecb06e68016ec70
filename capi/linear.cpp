// C entry points of Linear: validate, then run the CPU or CUDA kernel.
#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/linear.hpp"

using kn::capi::Dim;

extern "C" {

kn_status kn_linear_forward(const kn_tensor* x, const kn_tensor* w, const kn_tensor* b,
                            const kn_tensor* y, const kn_exec* ex) {
  return kn::capi::guard("kn_linear_forward", [&] {
    kn::capi::OpValidator v("kn_linear_forward");
    const kn_tensor& X = v.input(x, "x", 2);
    const int64_t N = X.shape[0], in = X.shape[1];
    const kn_tensor& W = v.input(w, "w", 2);
    v.expect_shape(W, "w", {{-1}, {in, "in from x"}});
    const int64_t out = W.shape[0];
    const kn_tensor* B = v.optional_input(b, "b", 1);
    if (B) v.expect_shape(*B, "b", {{out, "out from w"}});
    const kn_tensor& Y = v.output(y, "y", 2);
    v.expect_shape(Y, "y", {{N, "N from x"}, {out, "out from w"}});
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::linear_forward(X, W, B, Y, ctx); },
        [&](const auto& ctx) { kn::cuda::linear_forward(X, W, B, Y, ctx); });
  });
}

kn_status kn_linear_backward(const kn_tensor* dy, const kn_tensor* x, const kn_tensor* w,
                             const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,
                             const kn_exec* ex) {
  return kn::capi::guard("kn_linear_backward", [&] {
    kn::capi::OpValidator v("kn_linear_backward");
    const kn_tensor& DY = v.input(dy, "dy", 2);
    const int64_t N = DY.shape[0], out = DY.shape[1];
    // x is needed only for dw, w only for dx.
    v.require(!dw || x, KN_ERR_INVALID_ARGUMENT, "x: must not be NULL when dw is requested");
    v.require(!dx || w, KN_ERR_INVALID_ARGUMENT, "w: must not be NULL when dx is requested");
    const kn_tensor* X = v.optional_input(x, "x", 2);
    const kn_tensor* W = v.optional_input(w, "w", 2);
    if (X) v.expect_shape(*X, "x", {{N, "N from dy"}, {-1}});
    if (W) v.expect_shape(*W, "w", {{out, "out from dy"}, {-1}});
    if (X && W) v.expect_shape(*W, "w", {{out, "out from dy"}, {X->shape[1], "in from x"}});
    const kn_tensor* DX = v.optional_output(dx, "dx", 2);
    const kn_tensor* DW = v.optional_output(dw, "dw", 2);
    const kn_tensor* DB = v.optional_output(db, "db", 1);
    if (DX) v.expect_shape(*DX, "dx", {{N, "N from dy"}, {W->shape[1], "in from w"}});
    if (DW) v.expect_shape(*DW, "dw", {{out, "out from dy"}, {X->shape[1], "in from x"}});
    if (DB) v.expect_shape(*DB, "db", {{out, "out from dy"}});
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::linear_backward(DY, X, W, DX, DW, DB, ctx); },
        [&](const auto& ctx) { kn::cuda::linear_backward(DY, X, W, DX, DW, DB, ctx); });
  });
}

}  // extern "C"
