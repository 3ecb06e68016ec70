/* kernels/scaled_dot_product_attention.h -- fused scaled dot-product attention.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_SCALED_DOT_PRODUCT_ATTENTION_H_
#define KERNELS_SCALED_DOT_PRODUCT_ATTENTION_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* scale: multiplies q.k (torch's default is 1 / sqrt(E); the caller passes
 *   it, any finite value);
 * dropout_p: probability in [0, 1] that an attention weight is dropped
 *   (0 = no dropout; 1 drops every weight: out = 0);
 * seed: the Philox key of the dropout mask (ignored when dropout_p = 0);
 * is_causal: 0 or 1. 1 = query i attends to key j only where j <= i (the
 *   mask is aligned top-left, as torch's is_causal, also when L != S). It may
 *   be combined with attn_mask (both must allow a pair). */
typedef struct {
  double scale;
  double dropout_p;
  uint64_t seed;
  int32_t is_causal;
} kn_scaled_dot_product_attention_params;

/* Scaled dot-product attention forward (torch.nn.functional.
 * scaled_dot_product_attention), fused: the L x S score matrix is never
 * materialised (tiles of keys with an online softmax, as FlashAttention).
 *
 *   q:(*B, L, E)  k:(*Bk, S, E)  v:(*Bv, S, Ev)  attn_mask:(*Bm, L', S') or NULL
 *   -> out:(*B, L, Ev)   lse:(*B, L)
 *
 *   s_ij   = scale * q_i . k_j + m_ij          (m_ij: the float mask value, or
 *            0 where a bool mask is true / -inf where it is false; -inf where
 *            is_causal and j > i)
 *   lse_i  = log sum_j exp(s_ij)               (-inf for a fully masked row)
 *   P_ij   = exp(s_ij - lse_i)                 (0 for a fully masked row: its
 *                                               output is 0, as torch's)
 *   out_i  = sum_j P_ij * z_ij / (1 - p) * v_j (z_ij: the dropout keep bit)
 *
 * *B is any number of batch dims (0 to KN_MAX_DIMS - 2), the same count in
 * q, k, v, out, lse and attn_mask. Each batch dim of k, v and attn_mask is
 * either q's size or 1 (broadcast); so is each of attn_mask's last two dims
 * against (L, S). Grouped-query attention is this broadcast: q viewed as
 * (N, Hkv, G, L, E) against k, v:(N, Hkv, 1, S, E). Any strides everywhere
 * (q, k, v may be views of one packed projection).
 *
 * attn_mask: KN_BOOL or KN_UINT8 (nonzero = take part), or q's float dtype
 * (added to the scores; -inf masks). dtypes: q, k, v, out, lse one float
 * dtype (KN_FLOAT32 or KN_FLOAT64). Sizes 0 are allowed: L = 0 or a batch of
 * 0 writes nothing; S = 0 gives out = 0 and lse = -inf (every row empty).
 *
 * The dropout keep bit z of (b, i, j), b the row-major index of the batch
 * position in *B, is kn_dropout_forward's bit of logical element
 * (b * L + i) * S + j under `seed` (kernels/internal/philox.hpp): the same
 * mask dropout would draw on the materialised (*B, L, S) weights. So it is
 * reproducible from the seed, on CPU and CUDA, for any thread count.
 *
 * lse is what the backward needs (the log-sum-exp of each row's scores,
 * before dropout); its shape is a plain function of q's:
 * kn_scaled_dot_product_attention_lse_shape. out may not alias q, k or v. */
KN_API kn_status kn_scaled_dot_product_attention_forward(
    const kn_scaled_dot_product_attention_params* p, const kn_tensor* q, const kn_tensor* k,
    const kn_tensor* v, const kn_tensor* attn_mask, const kn_tensor* out, const kn_tensor* lse,
    const kn_exec* ex);

/* Scaled dot-product attention backward; the tiles are recomputed from
 * q, k, v and lse (nothing of size L x S is stored):
 *   dout:(*B, L, Ev), q, k, v, attn_mask (as the forward), out, lse (the
 *   forward's, same params and seed)
 *   -> dq:(*B, L, E)  dk:(*Bk, S, E)  dv:(*Bv, S, Ev), each or NULL = not needed.
 * Gradients of broadcast batch dims are summed into the broadcast tensor
 * (dk of a GQA k sums its G query heads). Deterministic: the same bits for
 * any thread count. No gradient flows to attn_mask. */
KN_API kn_status kn_scaled_dot_product_attention_backward(
    const kn_scaled_dot_product_attention_params* p, const kn_tensor* dout, const kn_tensor* q,
    const kn_tensor* k, const kn_tensor* v, const kn_tensor* attn_mask, const kn_tensor* out,
    const kn_tensor* lse, const kn_tensor* dq, const kn_tensor* dk, const kn_tensor* dv,
    const kn_exec* ex);

/* The shape of the forward's lse for this q:(*B, L, E): *ndim = q.ndim - 1,
 * shape[0 .. *ndim) = (*B, L). shape must hold KN_MAX_DIMS values. */
KN_API kn_status kn_scaled_dot_product_attention_lse_shape(const kn_tensor* q, int32_t* ndim,
                                                           int64_t* shape);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_SCALED_DOT_PRODUCT_ATTENTION_H_ */
