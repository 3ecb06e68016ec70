// pykernels._jax_ffi: the hardsigmoid targets (kernels/hardsigmoid.h; Python: pykernels/jax/ops/hardsigmoid.py).
#include "jax_ffi/common.hpp"
#include "kernels/hardsigmoid.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(hardsigmoid_forward) { return kn_hardsigmoid_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input x) -> out: dx
KN_JAX_TARGET(hardsigmoid_backward) { return kn_hardsigmoid_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
