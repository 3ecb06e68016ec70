// The kernels of scaled_dot_product_attention: kernels/cpu/scaled_dot_product_attention.cpp
// and kernels/cuda/scaled_dot_product_attention.cu, called by
// capi/scaled_dot_product_attention.cpp after validation (kernels/context.hpp
// says what that guarantees; the broadcast rules of the batch dims and the
// mask are checked there too). kernels/internal/attention_layout.hpp turns the
// descriptors into per-batch offsets.
#pragma once

#include "kernels/context.hpp"
#include "kernels/scaled_dot_product_attention.h"

#define KN_SCALED_DOT_PRODUCT_ATTENTION_KERNELS(Context)                                        \
  /* q:(*B,L,E) k:(*Bk,S,E) v:(*Bv,S,Ev) mask:(*Bm,L|1,S|1) or null -> out:(*B,L,Ev) lse:(*B,L) */ \
  void scaled_dot_product_attention_forward(                                                    \
      const kn_scaled_dot_product_attention_params& p, const kn_tensor& q, const kn_tensor& k,  \
      const kn_tensor& v, const kn_tensor* mask, const kn_tensor& out, const kn_tensor& lse,    \
      const Context& ctx);                                                                      \
  /* dout:(*B,L,Ev), q, k, v, mask, out, lse as the forward -> dq, dk, dv (each or null) */     \
  void scaled_dot_product_attention_backward(                                                   \
      const kn_scaled_dot_product_attention_params& p, const kn_tensor& dout,                   \
      const kn_tensor& q, const kn_tensor& k, const kn_tensor& v, const kn_tensor* mask,        \
      const kn_tensor& out, const kn_tensor& lse, const kn_tensor* dq, const kn_tensor* dk,     \
      const kn_tensor* dv, const Context& ctx);

KN_DECLARE_KERNELS(KN_SCALED_DOT_PRODUCT_ATTENTION_KERNELS)
