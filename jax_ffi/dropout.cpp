// pykernels._jax_ffi: the dropout targets (kernels/dropout.h; Python: pykernels/jax/ops/dropout.py).
#include "jax_ffi/common.hpp"
#include "kernels/dropout.h"

// attribute: p (float64). in: x, seed (uint32[2], drawn from a jax.random key;
// read on the host, so CPU only: on CUDA host_u64 fails and the call returns
// that FFI error) -> out: y (x's shape), mask (x's shape, bool)
KN_JAX_TARGET(dropout_forward) {
  const uint64_t seed = c.host_u64(1);
  return kn_dropout_forward(c.f64("p"), seed, c.in(0), c.out(0), c.out(1), c.exec());
}
// in: dy, mask -> out: dx = dy * mask / (1 - p)
KN_JAX_TARGET(dropout_backward) {
  return kn_dropout_backward(c.f64("p"), c.in(0), c.in(1), c.out(0), c.exec());
}
