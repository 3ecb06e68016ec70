// pykernels._jax_ffi: the relu6 targets (kernels/relu6.h; Python: pykernels/jax/ops/relu6.py).
#include "jax_ffi/common.hpp"
#include "kernels/relu6.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(relu6_forward) { return kn_relu6_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, y (the forward's output y) -> out: dx
KN_JAX_TARGET(relu6_backward) { return kn_relu6_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
