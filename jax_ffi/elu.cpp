// pykernels._jax_ffi: the elu targets (kernels/elu.h; Python: pykernels/jax/ops/elu.py).
#include "jax_ffi/common.hpp"
#include "kernels/elu.h"

// attribute: alpha (float64). in: x -> out: y
KN_JAX_TARGET(elu_forward) { return kn_elu_forward(c.f64("alpha"), c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input) -> out: dx
KN_JAX_TARGET(elu_backward) {
  return kn_elu_backward(c.f64("alpha"), c.in(0), c.in(1), c.out(0), c.exec());
}
