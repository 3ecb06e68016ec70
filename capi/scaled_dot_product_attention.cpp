// C entry points of scaled_dot_product_attention: validate the parameters,
// the shapes and the broadcast rules (capi/include/kernels/
// scaled_dot_product_attention.h), then run the CPU or CUDA kernel.
#include <cmath>
#include <string>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/scaled_dot_product_attention.hpp"

namespace {

using kn::capi::Kind;
using kn::capi::OpValidator;
using Params = kn_scaled_dot_product_attention_params;

const Params& checked_params(OpValidator& v, const Params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.require(std::isfinite(p->scale), KN_ERR_INVALID_ARGUMENT,
            "p->scale: expected a finite value, got ", p->scale);
  // Written so that NaN fails too.
  v.require(p->dropout_p >= 0.0 && p->dropout_p <= 1.0, KN_ERR_INVALID_ARGUMENT,
            "p->dropout_p: expected a probability in [0, 1], got ", p->dropout_p);
  v.require(p->is_causal == 0 || p->is_causal == 1, KN_ERR_INVALID_ARGUMENT,
            "p->is_causal: expected 0 or 1, got ", p->is_causal);
  return *p;
}

// The shapes of one call, from q:(*B, L, E), k:(*Bk, S, E), v:(*Bv, S, Ev).
struct Dims {
  int nb;  // batch dims
  int64_t L, S, E, Ev;
};

// t has nb + 2 dims, batch dims each q's size or 1 (`broadcast`) or exactly
// q's (!broadcast), and its last two dims rows x cols (negative = any; the
// mask's may also be 1).
void expect_operand(OpValidator& v, const kn_tensor& t, const char* name, const kn_tensor& q,
                    int nb, bool broadcast, int64_t rows, int64_t cols, bool mask_dims = false) {
  v.require(t.ndim == nb + 2, KN_ERR_SHAPE_MISMATCH, name, ": expected ", nb + 2,
            " dims (q's batch dims and 2), got shape ", kn::shape_string(t));
  for (int d = 0; d < nb; ++d) {
    const bool ok = t.shape[d] == q.shape[d] || (broadcast && t.shape[d] == 1);
    v.require(ok, KN_ERR_SHAPE_MISMATCH, name, ": batch dim ", d, " must be ",
              broadcast ? "q's size or 1" : "q's size", " (q is ", kn::shape_string(q), "), got ",
              kn::shape_string(t));
  }
  const int64_t r = t.shape[nb], c = t.shape[nb + 1];
  const bool rows_ok = rows < 0 || r == rows || (mask_dims && r == 1);
  const bool cols_ok = cols < 0 || c == cols || (mask_dims && c == 1);
  v.require(rows_ok && cols_ok, KN_ERR_SHAPE_MISMATCH, name, ": expected the last two dims (",
            rows, mask_dims ? " or 1" : "", ", ", cols, mask_dims ? " or 1" : "", "), got ",
            kn::shape_string(t));
}

Dims checked_qkv(OpValidator& v, const kn_tensor& q, const kn_tensor& k, const kn_tensor& vv) {
  v.require(q.ndim >= 2, KN_ERR_SHAPE_MISMATCH, "q: expected (*B, L, E) with at least 2 dims, got ",
            kn::shape_string(q));
  const int nb = q.ndim - 2;
  const int64_t E = q.shape[nb + 1];
  expect_operand(v, k, "k", q, nb, true, -1, E);
  const int64_t S = k.shape[nb];
  expect_operand(v, vv, "v", q, nb, true, S, -1);
  return Dims{nb, q.shape[nb], S, E, vv.shape[nb + 1]};
}

// attn_mask: bool/uint8 or the float dtype; (*Bm, L|1, S|1).
const kn_tensor* checked_mask(OpValidator& v, const kn_tensor* m, const kn_tensor& q,
                              const Dims& d) {
  if (m == nullptr) return nullptr;
  const bool is_bool = m->dtype == KN_BOOL || m->dtype == KN_UINT8;
  const kn_tensor* M = v.optional_input(m, "attn_mask", -1, is_bool ? Kind::Mask : Kind::Float);
  expect_operand(v, *M, "attn_mask", q, d.nb, true, d.L, d.S, true);
  return M;
}

void expect_lse(OpValidator& v, const kn_tensor& lse, const kn_tensor& q, int nb) {
  bool ok = lse.ndim == nb + 1;
  for (int d = 0; ok && d <= nb; ++d) ok = lse.shape[d] == q.shape[d];
  v.require(ok, KN_ERR_SHAPE_MISMATCH, "lse: expected q's shape without its last dim (q is ",
            kn::shape_string(q), "), got ", kn::shape_string(lse));
}

}  // namespace

extern "C" {

kn_status kn_scaled_dot_product_attention_forward(const Params* p, const kn_tensor* q,
                                                  const kn_tensor* k, const kn_tensor* v,
                                                  const kn_tensor* attn_mask,
                                                  const kn_tensor* out, const kn_tensor* lse,
                                                  const kn_exec* ex) {
  return kn::capi::guard("kn_scaled_dot_product_attention_forward", [&] {
    OpValidator val("kn_scaled_dot_product_attention_forward");
    const Params& P = checked_params(val, p);
    const kn_tensor& Q = val.input(q, "q");
    const kn_tensor& K = val.input(k, "k");
    const kn_tensor& V = val.input(v, "v");
    const Dims d = checked_qkv(val, Q, K, V);
    const kn_tensor* M = checked_mask(val, attn_mask, Q, d);
    const kn_tensor& O = val.output(out, "out");
    expect_operand(val, O, "out", Q, d.nb, false, d.L, d.Ev);
    const kn_tensor& LSE = val.output(lse, "lse");
    expect_lse(val, LSE, Q, d.nb);
    val.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::scaled_dot_product_attention_forward(P, Q, K, V, M, O, LSE, ctx);
        },
        [&](const auto& ctx) {
          kn::cuda::scaled_dot_product_attention_forward(P, Q, K, V, M, O, LSE, ctx);
        });
  });
}

kn_status kn_scaled_dot_product_attention_backward(
    const Params* p, const kn_tensor* dout, const kn_tensor* q, const kn_tensor* k,
    const kn_tensor* v, const kn_tensor* attn_mask, const kn_tensor* out, const kn_tensor* lse,
    const kn_tensor* dq, const kn_tensor* dk, const kn_tensor* dv, const kn_exec* ex) {
  return kn::capi::guard("kn_scaled_dot_product_attention_backward", [&] {
    OpValidator val("kn_scaled_dot_product_attention_backward");
    const Params& P = checked_params(val, p);
    const kn_tensor& DO = val.input(dout, "dout");
    const kn_tensor& Q = val.input(q, "q");
    const kn_tensor& K = val.input(k, "k");
    const kn_tensor& V = val.input(v, "v");
    const Dims d = checked_qkv(val, Q, K, V);
    expect_operand(val, DO, "dout", Q, d.nb, false, d.L, d.Ev);
    const kn_tensor* M = checked_mask(val, attn_mask, Q, d);
    const kn_tensor& O = val.input(out, "out");
    expect_operand(val, O, "out", Q, d.nb, false, d.L, d.Ev);
    const kn_tensor& LSE = val.input(lse, "lse");
    expect_lse(val, LSE, Q, d.nb);
    const kn_tensor* DQ = val.optional_output(dq, "dq");
    if (DQ) val.same_shape(Q, "q", *DQ, "dq");
    const kn_tensor* DK = val.optional_output(dk, "dk");
    if (DK) val.same_shape(K, "k", *DK, "dk");
    const kn_tensor* DV = val.optional_output(dv, "dv");
    if (DV) val.same_shape(V, "v", *DV, "dv");
    val.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::scaled_dot_product_attention_backward(P, DO, Q, K, V, M, O, LSE, DQ, DK, DV,
                                                         ctx);
        },
        [&](const auto& ctx) {
          kn::cuda::scaled_dot_product_attention_backward(P, DO, Q, K, V, M, O, LSE, DQ, DK, DV,
                                                          ctx);
        });
  });
}

kn_status kn_scaled_dot_product_attention_lse_shape(const kn_tensor* q, int32_t* ndim,
                                                    int64_t* shape) {
  return kn::capi::guard("kn_scaled_dot_product_attention_lse_shape", [&] {
    OpValidator val("kn_scaled_dot_product_attention_lse_shape");
    val.require(ndim != nullptr && shape != nullptr, KN_ERR_INVALID_ARGUMENT,
                "ndim and shape: must not be NULL");
    const kn_tensor& Q = val.input(q, "q");
    val.require(Q.ndim >= 2, KN_ERR_SHAPE_MISMATCH,
                "q: expected (*B, L, E) with at least 2 dims, got ", kn::shape_string(Q));
    *ndim = Q.ndim - 1;
    for (int d = 0; d < Q.ndim - 1; ++d) shape[d] = Q.shape[d];
  });
}

}  // extern "C"
