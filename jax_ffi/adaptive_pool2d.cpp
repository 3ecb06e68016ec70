// pykernels._jax_ffi: the adaptive_pool2d targets (kernels/adaptive_pool2d.h;
// Python: pykernels/jax/ops/adaptive_pool2d.py). The output size is the result's shape.
#include "jax_ffi/common.hpp"
#include "kernels/adaptive_pool2d.h"

// in: x (N,C,H,W) -> out: y (N,C,Ho,Wo)
KN_JAX_TARGET(adaptive_avg_pool2d_forward) {
  return kn_adaptive_avg_pool2d_forward(c.in(0), c.out(0), c.exec());
}

// in: dy (N,C,Ho,Wo) -> out: dx (N,C,H,W)
KN_JAX_TARGET(adaptive_avg_pool2d_backward) {
  return kn_adaptive_avg_pool2d_backward(c.in(0), c.out(0), c.exec());
}

// in: x (N,C,H,W) -> out: y (N,C,Ho,Wo), indices (N,C,Ho,Wo) int32/int64 (flat h*W + w)
KN_JAX_TARGET(adaptive_max_pool2d_forward) {
  return kn_adaptive_max_pool2d_forward(c.in(0), c.out(0), c.out(1), c.exec());
}

// in: dy (N,C,Ho,Wo), indices (N,C,Ho,Wo) -> out: dx (N,C,H,W)
KN_JAX_TARGET(adaptive_max_pool2d_backward) {
  return kn_adaptive_max_pool2d_backward(c.in(0), c.in(1), c.out(0), c.exec());
}
