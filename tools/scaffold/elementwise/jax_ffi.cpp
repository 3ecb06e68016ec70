// pykernels._jax_ffi: the @@op@@ targets (kernels/@@op@@.h; Python: pykernels/jax/ops/@@op@@.py).
#include "jax_ffi/common.hpp"
#include "kernels/@@op@@.h"

// @@jax_attrs_doc@@in: x -> out: y (one shape)
KN_JAX_TARGET(@@op@@_forward) {
  return kn_@@op@@_forward(@@jax_attrs@@c.in(0), c.out(0), c.exec());
}
// in: dy, @@saved@@ (the forward's @@saved_doc_upper@@) -> out: dx
KN_JAX_TARGET(@@op@@_backward) {
  return kn_@@op@@_backward(@@jax_attrs@@c.in(0), c.in(1), c.out(0), c.exec());
}
