// pykernels._jax_ffi: the sigmoid targets (kernels/sigmoid.h; Python: pykernels/jax/ops/sigmoid.py).
#include "jax_ffi/common.hpp"
#include "kernels/sigmoid.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(sigmoid_forward) { return kn_sigmoid_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, y (the forward's output y) -> out: dx
KN_JAX_TARGET(sigmoid_backward) { return kn_sigmoid_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
