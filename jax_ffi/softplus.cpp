// pykernels._jax_ffi: the softplus targets (kernels/softplus.h; Python: pykernels/jax/ops/softplus.py).
#include "jax_ffi/common.hpp"
#include "kernels/softplus.h"

// attributes: beta, threshold (float64). in: x -> out: y
KN_JAX_TARGET(softplus_forward) {
  return kn_softplus_forward(c.f64("beta"), c.f64("threshold"), c.in(0), c.out(0), c.exec());
}
// in: dy, x (the forward's input) -> out: dx
KN_JAX_TARGET(softplus_backward) {
  return kn_softplus_backward(c.f64("beta"), c.f64("threshold"), c.in(0), c.in(1), c.out(0),
                              c.exec());
}
