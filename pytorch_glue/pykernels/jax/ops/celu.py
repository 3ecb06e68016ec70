"""celu on jax.Arrays (targets: jax_ffi/celu.cpp):

    celu(x, alpha=1.0) -> x for x > 0, alpha (exp(x / alpha) - 1) otherwise    like jax.nn.celu

alpha: finite and != 0 (static; ValueError otherwise; jax.nn.celu would divide by
zero). Any shape, float32/float64; the gradient comes from the input x. vmap:
one call on the whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import Param, elementwise_op

__all__ = ["celu"]

celu = elementwise_op("celu", params=[Param("alpha", float, 1.0, rule="nonzero")], saves="x",
                      doc="``x if x > 0 else alpha * expm1(x / alpha)`` element-wise, like jax.nn.celu.")
