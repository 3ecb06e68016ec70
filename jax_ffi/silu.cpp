// pykernels._jax_ffi: the silu targets (kernels/silu.h; Python: pykernels/jax/ops/silu.py).
#include "jax_ffi/common.hpp"
#include "kernels/silu.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(silu_forward) { return kn_silu_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input x) -> out: dx
KN_JAX_TARGET(silu_backward) { return kn_silu_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
