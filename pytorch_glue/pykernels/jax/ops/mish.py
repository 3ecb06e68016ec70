"""mish on jax.Arrays (targets: jax_ffi/mish.cpp):

    mish(x) -> x tanh(softplus(x))    like jax.nn.mish

Any shape, float32/float64; the gradient comes from the input x. vmap: one call
on the whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["mish"]

mish = elementwise_op("mish", saves="x", doc="``x * tanh(softplus(x))`` element-wise, like jax.nn.mish.")
