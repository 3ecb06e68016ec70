"""elu on jax.Arrays (targets: jax_ffi/elu.cpp):

    elu(x, alpha=1.0) -> x for x > 0, alpha (exp(x) - 1) otherwise    like jax.nn.elu

alpha: any finite float (static; ValueError otherwise). Any shape,
float32/float64; the gradient comes from the input x (a negative alpha makes y
ambiguous). At x = 0 exactly the kernel's derivative is alpha (torch's
choice), jax.nn.elu's is 1. vmap: one call on the whole batch (element-wise:
vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import Param, elementwise_op

__all__ = ["elu"]

elu = elementwise_op("elu", params=[Param("alpha", float, 1.0)], saves="x",
                     doc="``x if x > 0 else alpha * expm1(x)`` element-wise, like jax.nn.elu.")
