"""gelu on jax.Arrays (targets: jax_ffi/gelu.cpp):

    gelu(x, approximate=True)    like jax.nn.gelu
        approximate=True:  x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (KN_GELU_TANH)
        approximate=False: x Phi(x) = x/2 (1 + erf(x / sqrt(2)))           (KN_GELU_NONE)

jax.nn.gelu's default is the tanh form (torch's is the exact one): ours follows
jax. ``approximate`` is static (a bool attribute). Any shape, float32/float64;
the gradient comes from the input x. vmap: one call on the whole batch
(element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import Param, elementwise_op

__all__ = ["gelu"]

gelu = elementwise_op("gelu", params=[Param("approximate", bool, True)], saves="x",
                      doc="GELU element-wise, like jax.nn.gelu: the tanh approximation when "
                          "``approximate`` (the default), else x Phi(x) with the exact erf.")
