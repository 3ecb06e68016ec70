// pykernels._jax_ffi: the fused attention targets (kernels/scaled_dot_product_attention.h;
// Python: pykernels/jax/ops/scaled_dot_product_attention.py).
#include "jax_ffi/common.hpp"
#include "kernels/scaled_dot_product_attention.h"

// The params from the attributes scale, dropout_p, is_causal and, when dropout is on,
// the seed operand `seed_in` (uint32[2] drawn from a jax.random key; absent otherwise).
static kn_scaled_dot_product_attention_params sdpa_params(::knjax::Call& c, int seed_in) {
  kn_scaled_dot_product_attention_params p{};
  p.scale = c.f64("scale");
  p.dropout_p = c.f64("dropout_p");
  p.is_causal = c.flag("is_causal");
  p.seed = c.in(seed_in) != nullptr ? c.host_u64(seed_in) : 0;
  return p;
}

// in: q (*B,L,E), k (*Bk,S,E), v (*Bv,S,Ev), attn_mask (*Bm,L',S') or absent, seed or absent
// -> out: out (*B,L,Ev), lse (*B,L)
KN_JAX_TARGET(scaled_dot_product_attention_forward) {
  const kn_scaled_dot_product_attention_params p = sdpa_params(c, 4);
  return kn_scaled_dot_product_attention_forward(&p, c.in(0), c.in(1), c.in(2), c.in(3),
                                                 c.out(0), c.out(1), c.exec());
}

// in: dout (*B,L,Ev), q, k, v, attn_mask or absent, out, lse, seed or absent
// -> out: dq (q's shape), dk (k's), dv (v's); each may be absent
KN_JAX_TARGET(scaled_dot_product_attention_backward) {
  const kn_scaled_dot_product_attention_params p = sdpa_params(c, 7);
  return kn_scaled_dot_product_attention_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3),
                                                  c.in(4), c.in(5), c.in(6), c.out(0), c.out(1),
                                                  c.out(2), c.exec());
}
