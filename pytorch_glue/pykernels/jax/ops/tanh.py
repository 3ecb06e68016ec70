"""tanh on jax.Arrays (targets: jax_ffi/tanh.cpp):

    tanh(x)    like jnp.tanh (jax.nn has no tanh of its own)

Any shape, float32/float64; the gradient comes from the output y (1 - y^2).
vmap: one call on the whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["tanh"]

tanh = elementwise_op("tanh", saves="y", doc="``tanh(x)`` element-wise, like jnp.tanh.")
