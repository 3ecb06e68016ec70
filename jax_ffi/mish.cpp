// pykernels._jax_ffi: the mish targets (kernels/mish.h; Python: pykernels/jax/ops/mish.py).
#include "jax_ffi/common.hpp"
#include "kernels/mish.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(mish_forward) { return kn_mish_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input x) -> out: dx
KN_JAX_TARGET(mish_backward) { return kn_mish_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
