// pykernels._jax_ffi: the softmax and log-softmax targets (kernels/softmax.h;
// Python: pykernels/jax/ops/softmax.py). Attribute dim in [0, ndim).

#include "jax_ffi/common.hpp"
#include "kernels/softmax.h"

// in: x -> out: y (x's shape)
KN_JAX_TARGET(softmax_forward) {
  return kn_softmax_forward(static_cast<int32_t>(c.i64("dim")), c.in(0), c.out(0), c.exec());
}
// in: dy, y (the forward's output) -> out: dx
KN_JAX_TARGET(softmax_backward) {
  return kn_softmax_backward(static_cast<int32_t>(c.i64("dim")), c.in(0), c.in(1), c.out(0),
                             c.exec());
}
// in: x -> out: y (x's shape)
KN_JAX_TARGET(log_softmax_forward) {
  return kn_log_softmax_forward(static_cast<int32_t>(c.i64("dim")), c.in(0), c.out(0), c.exec());
}
// in: dy, y (the forward's output) -> out: dx
KN_JAX_TARGET(log_softmax_backward) {
  return kn_log_softmax_backward(static_cast<int32_t>(c.i64("dim")), c.in(0), c.in(1), c.out(0),
                                 c.exec());
}
