// C entry points of layer_norm: validate the parameters and the tensors,
// then run the CPU or CUDA kernel.
#include <cmath>
#include <string>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/layer_norm.hpp"

namespace {

using kn::capi::OpValidator;

const kn_layer_norm_params& checked_params(OpValidator& v, const kn_layer_norm_params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.require(std::isfinite(p->eps) && p->eps >= 0, KN_ERR_INVALID_ARGUMENT,
            "p->eps: expected a finite value >= 0, got ", p->eps);
  return *p;
}

std::string dims(const int64_t* s, int n) {
  std::string out = "(";
  for (int d = 0; d < n; ++d) out += (d ? ", " : "") + std::to_string(s[d]);
  return out + (n == 1 ? ",)" : ")");
}

// t's shape must be dims s[0..n).
void expect_dims(OpValidator& v, const kn_tensor& t, const char* name, const int64_t* s, int n,
                 const char* what) {
  bool ok = t.ndim == n;
  for (int d = 0; ok && d < n; ++d) ok = t.shape[d] == s[d];
  v.require(ok, KN_ERR_SHAPE_MISMATCH, name, ": expected shape ", dims(s, n), " (", what,
            "), got ", kn::shape_string(t));
}

// normalized_ndim against x (or dy): in [1, ndim].
int checked_k(OpValidator& v, const kn_layer_norm_params& p, const kn_tensor& x, const char* x_name) {
  v.require(p.normalized_ndim >= 1 && p.normalized_ndim <= x.ndim, KN_ERR_INVALID_ARGUMENT,
            "p->normalized_ndim: expected a value in [1, ", x_name, ".ndim = ", x.ndim, "], got ",
            p.normalized_ndim);
  return p.normalized_ndim;
}

}  // namespace

extern "C" {

kn_status kn_layer_norm_forward(const kn_layer_norm_params* p, const kn_tensor* x,
                                const kn_tensor* weight, const kn_tensor* bias, const kn_tensor* y,
                                const kn_tensor* mean, const kn_tensor* rstd, const kn_exec* ex) {
  return kn::capi::guard("kn_layer_norm_forward", [&] {
    OpValidator v("kn_layer_norm_forward");
    const kn_layer_norm_params& P = checked_params(v, p);
    const kn_tensor& X = v.input(x, "x");
    const int k = checked_k(v, P, X, "x");
    const int nl = X.ndim - k;
    const kn_tensor* W = v.optional_input(weight, "weight");
    if (W) expect_dims(v, *W, "weight", X.shape + nl, k, "the normalised dims of x");
    const kn_tensor* B = v.optional_input(bias, "bias");
    if (B) expect_dims(v, *B, "bias", X.shape + nl, k, "the normalised dims of x");
    const kn_tensor& Y = v.output(y, "y");
    v.same_shape(X, "x", Y, "y");
    const kn_tensor& M = v.output(mean, "mean");
    expect_dims(v, M, "mean", X.shape, nl, "the leading dims of x");
    const kn_tensor& S = v.output(rstd, "rstd");
    expect_dims(v, S, "rstd", X.shape, nl, "the leading dims of x");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::layer_norm_forward(P, X, W, B, Y, M, S, ctx); },
        [&](const auto& ctx) { kn::cuda::layer_norm_forward(P, X, W, B, Y, M, S, ctx); });
  });
}

kn_status kn_layer_norm_backward(const kn_layer_norm_params* p, const kn_tensor* dy,
                                 const kn_tensor* x, const kn_tensor* weight, const kn_tensor* mean,
                                 const kn_tensor* rstd, const kn_tensor* dx,
                                 const kn_tensor* dweight, const kn_tensor* dbias,
                                 const kn_exec* ex) {
  return kn::capi::guard("kn_layer_norm_backward", [&] {
    OpValidator v("kn_layer_norm_backward");
    const kn_layer_norm_params& P = checked_params(v, p);
    const kn_tensor& DY = v.input(dy, "dy");
    const kn_tensor& X = v.input(x, "x");
    v.same_shape(DY, "dy", X, "x");
    const int k = checked_k(v, P, X, "x");
    const int nl = X.ndim - k;
    const kn_tensor* W = v.optional_input(weight, "weight");
    if (W) expect_dims(v, *W, "weight", X.shape + nl, k, "the normalised dims of x");
    const kn_tensor& M = v.input(mean, "mean");
    expect_dims(v, M, "mean", X.shape, nl, "the leading dims of x");
    const kn_tensor& S = v.input(rstd, "rstd");
    expect_dims(v, S, "rstd", X.shape, nl, "the leading dims of x");
    const kn_tensor* DX = v.optional_output(dx, "dx");
    if (DX) v.same_shape(X, "x", *DX, "dx");
    const kn_tensor* DW = v.optional_output(dweight, "dweight");
    if (DW) expect_dims(v, *DW, "dweight", X.shape + nl, k, "the normalised dims of x");
    const kn_tensor* DB = v.optional_output(dbias, "dbias");
    if (DB) expect_dims(v, *DB, "dbias", X.shape + nl, k, "the normalised dims of x");
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::layer_norm_backward(P, DY, X, W, M, S, DX, DW, DB, ctx);
        },
        [&](const auto& ctx) { kn::cuda::layer_norm_backward(P, DY, X, W, M, S, DX, DW, DB, ctx); });
  });
}

}  // extern "C"
