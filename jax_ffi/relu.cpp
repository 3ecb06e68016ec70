// pykernels._jax_ffi: the relu targets (kernels/relu.h; Python: pykernels/jax/ops/relu.py).
#include "jax_ffi/common.hpp"
#include "kernels/relu.h"

KN_JAX_TARGET(relu_forward) { return kn_relu_forward(c.in(0), c.out(0), c.exec()); }
KN_JAX_TARGET(relu_backward) { return kn_relu_backward(c.in(0), c.in(1), c.out(0), c.exec()); }
