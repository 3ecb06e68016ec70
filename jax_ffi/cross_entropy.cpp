// pykernels._jax_ffi: the cross-entropy targets (kernels/cross_entropy.h;
// Python: pykernels/jax/ops/cross_entropy.py).
#include "jax_ffi/common.hpp"
#include "kernels/cross_entropy.h"

// kn_cross_entropy_params from the attributes reduction (kn_reduction),
// ignore_index and label_smoothing.
static kn_cross_entropy_params ce_params(::knjax::Call& c) {
  kn_cross_entropy_params p{};
  p.reduction = static_cast<int32_t>(c.i64("reduction"));
  p.ignore_index = c.i64("ignore_index");
  p.label_smoothing = c.f64("label_smoothing");
  return p;
}

// in: logits (N,C,d..) | (C,), labels (N,d..) | () int32/int64, weight (C,) or absent
// -> out: loss (labels' shape for NONE, () otherwise), total_weight ()
KN_JAX_TARGET(cross_entropy_forward) {
  const kn_cross_entropy_params p = ce_params(c);
  return kn_cross_entropy_forward(&p, c.in(0), c.in(1), c.in(2), c.out(0), c.out(1), c.exec());
}

// in: dloss (loss's shape), logits, labels, weight or absent, total_weight ()
// -> out: dlogits (logits' shape)
KN_JAX_TARGET(cross_entropy_backward) {
  const kn_cross_entropy_params p = ce_params(c);
  return kn_cross_entropy_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.out(0),
                                   c.exec());
}
