"""relu6 on jax.Arrays (targets: jax_ffi/relu6.cpp):

    relu6(x) -> min(max(x, 0), 6)     like jax.nn.relu6

Any shape, float32/float64. The gradient comes from the output y (kernels/relu6.h):
0 at and beyond the kinks 0 and 6 (jax.nn.relu6's is too). vmap: one call on the
whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["relu6"]

relu6 = elementwise_op("relu6", saves="y", doc="``min(max(x, 0), 6)`` element-wise, like jax.nn.relu6.")
