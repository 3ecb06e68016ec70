"""sigmoid on jax.Arrays (targets: jax_ffi/sigmoid.cpp):

    sigmoid(x) -> 1 / (1 + exp(-x))    like jax.nn.sigmoid

Any shape, float32/float64; the gradient comes from the output y (y (1 - y)).
vmap: one call on the whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["sigmoid"]

sigmoid = elementwise_op("sigmoid", saves="y", doc="``1 / (1 + exp(-x))`` element-wise, like jax.nn.sigmoid.")
