// pykernels._jax_ffi: the hardswish targets (kernels/hardswish.h; Python: pykernels/jax/ops/hardswish.py).
#include "jax_ffi/common.hpp"
#include "kernels/hardswish.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(hardswish_forward) { return kn_hardswish_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, x (the forward's input x) -> out: dx
KN_JAX_TARGET(hardswish_backward) { return kn_hardswish_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
