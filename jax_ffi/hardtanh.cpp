// pykernels._jax_ffi: the hardtanh targets (kernels/hardtanh.h; Python: pykernels/jax/ops/hardtanh.py).
#include "jax_ffi/common.hpp"
#include "kernels/hardtanh.h"

// attributes: min_val, max_val (float64). in: x -> out: y
KN_JAX_TARGET(hardtanh_forward) {
  return kn_hardtanh_forward(c.f64("min_val"), c.f64("max_val"), c.in(0), c.out(0), c.exec());
}
// in: dy, y (the forward's output) -> out: dx
KN_JAX_TARGET(hardtanh_backward) {
  return kn_hardtanh_backward(c.f64("min_val"), c.f64("max_val"), c.in(0), c.in(1), c.out(0),
                              c.exec());
}
