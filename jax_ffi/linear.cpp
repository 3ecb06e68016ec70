// pykernels._jax_ffi: the linear targets (kernels/linear.h; Python: pykernels/jax/ops/linear.py).
#include "jax_ffi/common.hpp"
#include "kernels/linear.h"

// in: x (N,in), w (out,in), b (out) or absent -> out: y (N,out)
KN_JAX_TARGET(linear_forward) {
  return kn_linear_forward(c.in(0), c.in(1), c.in(2), c.out(0), c.exec());
}

// in: dy, x, w (x absent without dw, w without dx) -> out: dx, dw, db (each may be absent)
KN_JAX_TARGET(linear_backward) {
  return kn_linear_backward(c.in(0), c.in(1), c.in(2), c.out(0), c.out(1), c.out(2), c.exec());
}
