// pykernels._jax_ffi: the negative log-likelihood targets (kernels/nll_loss.h;
// Python: pykernels/jax/ops/nll_loss.py).
#include "jax_ffi/common.hpp"
#include "kernels/nll_loss.h"

// kn_cross_entropy_params from the attributes reduction and ignore_index
// (label_smoothing must be 0 for nll_loss: not an attribute).
static kn_cross_entropy_params nll_params(::knjax::Call& c) {
  kn_cross_entropy_params p{};
  p.reduction = static_cast<int32_t>(c.i64("reduction"));
  p.ignore_index = c.i64("ignore_index");
  p.label_smoothing = 0.0;
  return p;
}

// in: log_probs (N,C,d..) | (C,), labels (N,d..) | (), weight (C,) or absent
// -> out: loss (labels' shape for NONE, () otherwise), total_weight ()
KN_JAX_TARGET(nll_loss_forward) {
  const kn_cross_entropy_params p = nll_params(c);
  return kn_nll_loss_forward(&p, c.in(0), c.in(1), c.in(2), c.out(0), c.out(1), c.exec());
}

// in: dloss, labels, weight or absent, total_weight () -> out: dlog_probs (log_probs' shape)
KN_JAX_TARGET(nll_loss_backward) {
  const kn_cross_entropy_params p = nll_params(c);
  return kn_nll_loss_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.out(0), c.exec());
}
