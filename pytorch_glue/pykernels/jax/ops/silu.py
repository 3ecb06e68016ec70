"""silu on jax.Arrays (targets: jax_ffi/silu.cpp):

    silu(x) -> x sigmoid(x)    like jax.nn.silu
    swish   the same function (jax.nn.swish is an alias of jax.nn.silu too)

Any shape, float32/float64; the gradient comes from the input x. vmap: one call
on the whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["silu", "swish"]

silu = elementwise_op("silu", saves="x", doc="``x * sigmoid(x)`` element-wise, like jax.nn.silu.")
swish = silu
