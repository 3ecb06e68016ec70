// pykernels._jax_ffi: the layer_norm targets (kernels/layer_norm.h; Python: pykernels/jax/ops/layer_norm.py).
#include "jax_ffi/common.hpp"
#include "kernels/layer_norm.h"

// The attributes normalized_ndim (int), eps (float).
static kn_layer_norm_params layer_norm_params(knjax::Call& c) {
  kn_layer_norm_params p{};
  p.normalized_ndim = static_cast<int32_t>(c.i64("normalized_ndim"));
  p.eps = c.f64("eps");
  return p;
}

// in: x (*lead,*norm), weight (*norm) or absent, bias (*norm) or absent
// -> out: y (*lead,*norm), mean (*lead), rstd (*lead)
KN_JAX_TARGET(layer_norm_forward) {
  const kn_layer_norm_params p = layer_norm_params(c);
  return kn_layer_norm_forward(&p, c.in(0), c.in(1), c.in(2), c.out(0), c.out(1), c.out(2),
                               c.exec());
}

// in: dy, x (*lead,*norm), weight (*norm) or absent, mean, rstd (*lead)
// -> out: dx (*lead,*norm), dweight (*norm), dbias (*norm), each may be absent
KN_JAX_TARGET(layer_norm_backward) {
  const kn_layer_norm_params p = layer_norm_params(c);
  return kn_layer_norm_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.out(0),
                                c.out(1), c.out(2), c.exec());
}
