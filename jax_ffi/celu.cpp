// pykernels._jax_ffi: the celu targets (kernels/celu.h; Python: pykernels/jax/ops/celu.py).
#include "jax_ffi/common.hpp"
#include "kernels/celu.h"

// attribute: alpha (float64). in: x -> out: y
KN_JAX_TARGET(celu_forward) { return kn_celu_forward(c.f64("alpha"), c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input) -> out: dx
KN_JAX_TARGET(celu_backward) {
  return kn_celu_backward(c.f64("alpha"), c.in(0), c.in(1), c.out(0), c.exec());
}
