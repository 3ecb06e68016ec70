// C entry points of batch_norm: validate the parameters and the tensors (x, y, dy, dx
// (N, C, *) of 2+ dims, every per-channel tensor (C)), then run the CPU or CUDA kernel
// (kernels/cpu/batch_norm.cpp, kernels/cuda/batch_norm.cu).
#include <cmath>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/internal/tensor.hpp"
#include "kernels/ops/batch_norm.hpp"

namespace {

using kn::capi::Dim;
using kn::capi::OpValidator;

kn_batch_norm_params checked_params(OpValidator& v, const kn_batch_norm_params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  const kn_batch_norm_params P = *p;  // one snapshot
  // Written so that NaN fails too.
  v.require(P.eps >= 0.0 && std::isfinite(P.eps), KN_ERR_INVALID_ARGUMENT,
            "p->eps: expected a finite value >= 0, got ", P.eps);
  v.require(std::isfinite(P.momentum), KN_ERR_INVALID_ARGUMENT,
            "p->momentum: expected a finite value, got ", P.momentum);
  v.expect_range(P.training, "p->training", 0, 1);
  return P;
}

// x (or dy) has (N, C, *) with at least 2 dims.
void check_nc(OpValidator& v, const kn_tensor& t, const char* name) {
  v.require(t.ndim >= 2, KN_ERR_SHAPE_MISMATCH, name,
            ": expected (N, C, *) with at least 2 dims, got shape ", kn::shape_string(t));
}

// M = N * prod(*): the values per channel (saturated; only compared with 0 and 1).
int64_t per_channel(const kn_tensor& x) {
  int64_t m = 1;
  for (int d = 0; d < x.ndim; ++d) {
    if (d == 1) continue;
    if (x.shape[d] == 0) return 0;
    if (__builtin_mul_overflow(m, x.shape[d], &m)) m = INT64_MAX;
  }
  return m;
}

}  // namespace

extern "C" {

kn_status kn_batch_norm_forward(const kn_batch_norm_params* p, const kn_tensor* x,
                                const kn_tensor* weight, const kn_tensor* bias,
                                const kn_tensor* running_mean, const kn_tensor* running_var,
                                const kn_tensor* y, const kn_tensor* save_mean,
                                const kn_tensor* save_invstd, const kn_exec* ex) {
  return kn::capi::guard("kn_batch_norm_forward", [&] {
    OpValidator v("kn_batch_norm_forward");
    const kn_batch_norm_params P = checked_params(v, p);
    const kn_tensor& X = v.input(x, "x");
    check_nc(v, X, "x");
    const Dim c{X.shape[1], "C from x"};
    const kn_tensor* W = v.optional_input(weight, "weight", 1);
    if (W) v.expect_shape(*W, "weight", {c});
    const kn_tensor* B = v.optional_input(bias, "bias", 1);
    if (B) v.expect_shape(*B, "bias", {c});
    // In/out: outputs for the overlap rules (they are written in training).
    const kn_tensor* RM = v.optional_output(running_mean, "running_mean", 1);
    if (RM) v.expect_shape(*RM, "running_mean", {c});
    const kn_tensor* RV = v.optional_output(running_var, "running_var", 1);
    if (RV) v.expect_shape(*RV, "running_var", {c});
    v.require((RM == nullptr) == (RV == nullptr), KN_ERR_INVALID_ARGUMENT,
              RM ? "running_var" : "running_mean",
              ": running_mean and running_var must be given both or neither");
    v.require(P.training || RM, KN_ERR_INVALID_ARGUMENT,
              "running_mean: running_mean and running_var are required in eval mode "
              "(p->training = 0)");
    const kn_tensor& Y = v.output(y, "y");
    v.same_shape(X, "x", Y, "y");
    const kn_tensor& SM = v.output(save_mean, "save_mean", 1);
    v.expect_shape(SM, "save_mean", {c});
    const kn_tensor& SI = v.output(save_invstd, "save_invstd", 1);
    v.expect_shape(SI, "save_invstd", {c});
    v.require(!P.training || per_channel(X) != 1, KN_ERR_INVALID_ARGUMENT,
              "x: expected more than 1 value per channel when training, got input size ",
              kn::shape_string(X));
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::batch_norm_forward(P, X, W, B, RM, RV, Y, SM, SI, ctx);
        },
        [&](const auto& ctx) { kn::cuda::batch_norm_forward(P, X, W, B, RM, RV, Y, SM, SI, ctx); });
  });
}

kn_status kn_batch_norm_backward(const kn_batch_norm_params* p, const kn_tensor* dy,
                                 const kn_tensor* x, const kn_tensor* weight,
                                 const kn_tensor* save_mean, const kn_tensor* save_invstd,
                                 const kn_tensor* dx, const kn_tensor* dweight,
                                 const kn_tensor* dbias, const kn_exec* ex) {
  return kn::capi::guard("kn_batch_norm_backward", [&] {
    OpValidator v("kn_batch_norm_backward");
    const kn_batch_norm_params P = checked_params(v, p);
    const kn_tensor& DY = v.input(dy, "dy");
    check_nc(v, DY, "dy");
    const kn_tensor& X = v.input(x, "x");
    v.same_shape(DY, "dy", X, "x");
    const Dim c{X.shape[1], "C from x"};
    const kn_tensor* W = v.optional_input(weight, "weight", 1);
    if (W) v.expect_shape(*W, "weight", {c});
    const kn_tensor& SM = v.input(save_mean, "save_mean", 1);
    v.expect_shape(SM, "save_mean", {c});
    const kn_tensor& SI = v.input(save_invstd, "save_invstd", 1);
    v.expect_shape(SI, "save_invstd", {c});
    const kn_tensor* DX = v.optional_output(dx, "dx");
    if (DX) v.same_shape(X, "x", *DX, "dx");
    const kn_tensor* DW = v.optional_output(dweight, "dweight", 1);
    if (DW) v.expect_shape(*DW, "dweight", {c});
    const kn_tensor* DB = v.optional_output(dbias, "dbias", 1);
    if (DB) v.expect_shape(*DB, "dbias", {c});
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::batch_norm_backward(P, DY, X, W, SM, SI, DX, DW, DB, ctx);
        },
        [&](const auto& ctx) { kn::cuda::batch_norm_backward(P, DY, X, W, SM, SI, DX, DW, DB, ctx); });
  });
}

}  // extern "C"
