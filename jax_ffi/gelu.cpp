// pykernels._jax_ffi: the gelu targets (kernels/gelu.h; Python: pykernels/jax/ops/gelu.py).
#include "jax_ffi/common.hpp"
#include "kernels/gelu.h"

// Attribute "approximate" (bool as int64): 1 = the tanh form, 0 = the exact erf form.
static kn_gelu_approximate approximate(knjax::Call& c) {
  return c.flag("approximate") ? KN_GELU_TANH : KN_GELU_NONE;
}

// in: x -> out: y
KN_JAX_TARGET(gelu_forward) { return kn_gelu_forward(approximate(c), c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input) -> out: dx
KN_JAX_TARGET(gelu_backward) {
  return kn_gelu_backward(approximate(c), c.in(0), c.in(1), c.out(0), c.exec());
}
