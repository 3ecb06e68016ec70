"""hard_tanh on jax.Arrays (targets: jax_ffi/hardtanh.cpp):

    hard_tanh(x, min_val=-1.0, max_val=1.0) -> min(max(x, min_val), max_val)
        like jax.nn.hard_tanh, which has no min_val/max_val: those two keyword
        arguments (torch's hardtanh's) are our extension; the defaults are jax's function.

min_val <= max_val, both finite (static; ValueError otherwise; equal bounds give
a constant with gradient 0). Any shape, float32/float64; the gradient comes from
the output y: 0 at and beyond the bounds. vmap: one call on the whole batch
(element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import Param, elementwise_op

__all__ = ["hard_tanh"]


def _check(min_val: float, max_val: float) -> None:
    if min_val > max_val:
        raise ValueError(f"pykernels.jax.hard_tanh: min_val ({min_val}) must be <= max_val ({max_val})")


hard_tanh = elementwise_op("hardtanh", name="hard_tanh", saves="y", check=_check,
                           params=[Param("min_val", float, -1.0), Param("max_val", float, 1.0)],
                           doc="``min(max(x, min_val), max_val)`` element-wise, like jax.nn.hard_tanh "
                               "(min_val/max_val: our extension).")
