// pykernels._jax_ffi: the tanh targets (kernels/tanh.h; Python: pykernels/jax/ops/tanh.py).
#include "jax_ffi/common.hpp"
#include "kernels/tanh.h"

// in: x -> out: y (one shape)
KN_JAX_TARGET(tanh_forward) { return kn_tanh_forward(c.in(0), c.out(0), c.exec()); }
// in: dy, y (the forward's output y) -> out: dx
KN_JAX_TARGET(tanh_backward) { return kn_tanh_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
