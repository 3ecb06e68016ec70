// C entry points of group_norm: validate the parameters and the tensors,
// then run the CPU or CUDA kernel.
#include <cmath>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/group_norm.hpp"

namespace {

using kn::capi::Dim;
using kn::capi::OpValidator;

const kn_group_norm_params& checked_params(OpValidator& v, const kn_group_norm_params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.require(p->num_groups >= 1, KN_ERR_INVALID_ARGUMENT,
            "p->num_groups: expected a value >= 1, got ", p->num_groups);
  v.require(std::isfinite(p->eps) && p->eps >= 0, KN_ERR_INVALID_ARGUMENT,
            "p->eps: expected a finite value >= 0, got ", p->eps);
  return *p;
}

// x:(N, C, *) with C divisible by num_groups.
void check_x(OpValidator& v, const kn_group_norm_params& p, const kn_tensor& x, const char* name) {
  v.require(x.ndim >= 2, KN_ERR_SHAPE_MISMATCH, name,
            ": expected at least 2 dims (N, C, *), got shape ", kn::shape_string(x));
  v.require(x.shape[1] % p.num_groups == 0, KN_ERR_INVALID_ARGUMENT,
            "p->num_groups: the number of channels C = ", x.shape[1], " of ", name,
            " must be divisible by num_groups, got num_groups = ", p.num_groups);
}

}  // namespace

extern "C" {

kn_status kn_group_norm_forward(const kn_group_norm_params* p, const kn_tensor* x,
                                const kn_tensor* weight, const kn_tensor* bias, const kn_tensor* y,
                                const kn_tensor* mean, const kn_tensor* rstd, const kn_exec* ex) {
  return kn::capi::guard("kn_group_norm_forward", [&] {
    OpValidator v("kn_group_norm_forward");
    const kn_group_norm_params& P = checked_params(v, p);
    const kn_tensor& X = v.input(x, "x");
    check_x(v, P, X, "x");
    const Dim c{X.shape[1], "C from x"}, n{X.shape[0], "N from x"}, g{P.num_groups, "num_groups"};
    const kn_tensor* W = v.optional_input(weight, "weight");
    if (W) v.expect_shape(*W, "weight", {c});
    const kn_tensor* B = v.optional_input(bias, "bias");
    if (B) v.expect_shape(*B, "bias", {c});
    const kn_tensor& Y = v.output(y, "y");
    v.same_shape(X, "x", Y, "y");
    const kn_tensor& M = v.output(mean, "mean");
    v.expect_shape(M, "mean", {n, g});
    const kn_tensor& S = v.output(rstd, "rstd");
    v.expect_shape(S, "rstd", {n, g});
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::group_norm_forward(P, X, W, B, Y, M, S, ctx); },
        [&](const auto& ctx) { kn::cuda::group_norm_forward(P, X, W, B, Y, M, S, ctx); });
  });
}

kn_status kn_group_norm_backward(const kn_group_norm_params* p, const kn_tensor* dy,
                                 const kn_tensor* x, const kn_tensor* weight, const kn_tensor* mean,
                                 const kn_tensor* rstd, const kn_tensor* dx,
                                 const kn_tensor* dweight, const kn_tensor* dbias,
                                 const kn_exec* ex) {
  return kn::capi::guard("kn_group_norm_backward", [&] {
    OpValidator v("kn_group_norm_backward");
    const kn_group_norm_params& P = checked_params(v, p);
    const kn_tensor& DY = v.input(dy, "dy");
    const kn_tensor& X = v.input(x, "x");
    v.same_shape(DY, "dy", X, "x");
    check_x(v, P, X, "x");
    const Dim c{X.shape[1], "C from x"}, n{X.shape[0], "N from x"}, g{P.num_groups, "num_groups"};
    const kn_tensor* W = v.optional_input(weight, "weight");
    if (W) v.expect_shape(*W, "weight", {c});
    const kn_tensor& M = v.input(mean, "mean");
    v.expect_shape(M, "mean", {n, g});
    const kn_tensor& S = v.input(rstd, "rstd");
    v.expect_shape(S, "rstd", {n, g});
    const kn_tensor* DX = v.optional_output(dx, "dx");
    if (DX) v.same_shape(X, "x", *DX, "dx");
    const kn_tensor* DW = v.optional_output(dweight, "dweight");
    if (DW) v.expect_shape(*DW, "dweight", {c});
    const kn_tensor* DB = v.optional_output(dbias, "dbias");
    if (DB) v.expect_shape(*DB, "dbias", {c});
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::group_norm_backward(P, DY, X, W, M, S, DX, DW, DB, ctx);
        },
        [&](const auto& ctx) { kn::cuda::group_norm_backward(P, DY, X, W, M, S, DX, DW, DB, ctx); });
  });
}

}  // extern "C"
