"""hard_swish on jax.Arrays (targets: jax_ffi/hardswish.cpp):

    hard_swish(x) -> x relu6(x + 3) / 6    like jax.nn.hard_swish
    hard_silu     the same function (jax.nn.hard_silu; jax.nn.hard_swish is its alias)

Any shape, float32/float64; the gradient comes from the input x (torch's
one-sided choices at the kinks -3 and 3). vmap: one call on the whole batch
(element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["hard_swish", "hard_silu"]

hard_swish = elementwise_op("hardswish", name="hard_swish", saves="x",
                            doc="``x * relu6(x + 3) / 6`` element-wise, like jax.nn.hard_swish.")
hard_silu = hard_swish
