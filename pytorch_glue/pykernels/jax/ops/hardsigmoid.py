"""hard_sigmoid on jax.Arrays (targets: jax_ffi/hardsigmoid.cpp):

    hard_sigmoid(x) -> relu6(x + 3) / 6    like jax.nn.hard_sigmoid

Any shape, float32/float64; the gradient comes from the input x (1/6 strictly
inside (-3, 3), 0 elsewhere). vmap: one call on the whole batch (element-wise:
vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["hard_sigmoid"]

hard_sigmoid = elementwise_op("hardsigmoid", name="hard_sigmoid", saves="x",
                              doc="``relu6(x + 3) / 6`` element-wise, like jax.nn.hard_sigmoid.")
