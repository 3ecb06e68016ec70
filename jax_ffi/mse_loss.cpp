// pykernels._jax_ffi: the mean-squared-error targets (kernels/mse_loss.h;
// Python: pykernels/jax/ops/mse_loss.py). Attribute reduction (kn_reduction).
#include "jax_ffi/common.hpp"
#include "kernels/mse_loss.h"

// in: predictions, targets (one shape) -> out: loss (their shape for NONE, () otherwise)
KN_JAX_TARGET(mse_loss_forward) {
  return kn_mse_loss_forward(static_cast<kn_reduction>(c.i64("reduction")), c.in(0), c.in(1),
                             c.out(0), c.exec());
}
// in: dloss, predictions, targets -> out: dpredictions, dtargets (each may be absent)
KN_JAX_TARGET(mse_loss_backward) {
  return kn_mse_loss_backward(static_cast<kn_reduction>(c.i64("reduction")), c.in(0), c.in(1),
                              c.in(2), c.out(0), c.out(1), c.exec());
}
