// pykernels._jax_ffi: the leaky_relu targets (kernels/leaky_relu.h; Python:
// pykernels/jax/ops/leaky_relu.py).
#include "jax_ffi/common.hpp"
#include "kernels/leaky_relu.h"

// attribute: negative_slope (float64). in: x -> out: y
KN_JAX_TARGET(leaky_relu_forward) {
  return kn_leaky_relu_forward(c.f64("negative_slope"), c.in(0), c.out(0), c.exec());
}
// in: dy, x -> out: dx. The backward always gets the forward's INPUT
// (self_is_result = 0): JAX never runs the forward in place, and from x any
// negative_slope (negative ones included) is valid -- the uniform (dy, x) form
// of every other element-wise op's target.
KN_JAX_TARGET(leaky_relu_backward) {
  return kn_leaky_relu_backward(c.f64("negative_slope"), /*self_is_result=*/0, c.in(0), c.in(1),
                                c.out(0), c.exec());
}
