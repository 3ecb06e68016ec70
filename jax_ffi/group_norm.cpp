// pykernels._jax_ffi: the group_norm targets (kernels/group_norm.h; Python: pykernels/jax/ops/group_norm.py).
#include "jax_ffi/common.hpp"
#include "kernels/group_norm.h"

// The attributes num_groups (int), eps (float).
static kn_group_norm_params group_norm_params(knjax::Call& c) {
  kn_group_norm_params p{};
  p.num_groups = c.i64("num_groups");
  p.eps = c.f64("eps");
  return p;
}

// in: x (N,C,*), weight (C) or absent, bias (C) or absent
// -> out: y (N,C,*), mean (N,G), rstd (N,G)
KN_JAX_TARGET(group_norm_forward) {
  const kn_group_norm_params p = group_norm_params(c);
  return kn_group_norm_forward(&p, c.in(0), c.in(1), c.in(2), c.out(0), c.out(1), c.out(2),
                               c.exec());
}

// in: dy, x (N,C,*), weight (C) or absent, mean, rstd (N,G)
// -> out: dx (N,C,*), dweight (C), dbias (C), each may be absent
KN_JAX_TARGET(group_norm_backward) {
  const kn_group_norm_params p = group_norm_params(c);
  return kn_group_norm_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.out(0),
                                c.out(1), c.out(2), c.exec());
}
