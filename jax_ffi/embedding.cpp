// pykernels._jax_ffi: the embedding targets (kernels/embedding.h; Python: pykernels/jax/ops/embedding.py).
// kn_embedding_renorm (max_norm) writes the weight in place and has no target: see the
// Python module's docstring.
#include "jax_ffi/common.hpp"
#include "kernels/embedding.h"

// in: weight (V,D), indices (*) int32/int64 -> out: y (*,D)
KN_JAX_TARGET(embedding_forward) {
  return kn_embedding_forward(c.in(0), c.in(1), c.out(0), c.exec());
}

// The attributes padding_idx (int, -1 = none), scale_grad_by_freq (bool).
// in: dy (*,D), indices (*) -> out: dweight (V,D)
KN_JAX_TARGET(embedding_backward) {
  kn_embedding_params p{};
  p.padding_idx = c.i64("padding_idx");
  p.scale_grad_by_freq = c.flag("scale_grad_by_freq");
  return kn_embedding_backward(&p, c.in(0), c.in(1), c.out(0), c.exec());
}
