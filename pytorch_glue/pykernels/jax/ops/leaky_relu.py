"""leaky_relu on jax.Arrays (targets: jax_ffi/leaky_relu.cpp):

    leaky_relu(x, negative_slope=0.01) -> x for x > 0, negative_slope x otherwise
        like jax.nn.leaky_relu (jax's x >= 0 vs the kernel's x > 0 differ only at 0,
        where both give 0; the derivative at 0 is negative_slope here, 1 in jax)

negative_slope: any finite float (static). Any shape, float32/float64; the
gradient comes from the input x (kn_leaky_relu_backward with self_is_result = 0,
so a negative slope is fine). vmap: one call on the whole batch (element-wise:
vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import Param, elementwise_op

__all__ = ["leaky_relu"]

leaky_relu = elementwise_op("leaky_relu", params=[Param("negative_slope", float, 0.01)], saves="x",
                            doc="``x if x > 0 else negative_slope * x`` element-wise, like jax.nn.leaky_relu.")
