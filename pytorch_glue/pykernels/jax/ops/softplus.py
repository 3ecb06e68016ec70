"""softplus on jax.Arrays (targets: jax_ffi/softplus.cpp):

    softplus(x, beta=1.0, threshold=20.0) -> x where beta x > threshold,
                                             log(1 + exp(beta x)) / beta elsewhere

jax.nn.softplus(x) is log1p(exp(x)) with neither argument: beta and threshold
(torch's softplus's) are our extension. With the defaults the two agree to
within exp(-20) relative (jax has no linear cut-off). beta: finite and != 0;
threshold: finite (static; ValueError otherwise). Any shape, float32/float64;
the gradient comes from the input x. vmap: one call on the whole batch
(element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import Param, elementwise_op

__all__ = ["softplus"]

softplus = elementwise_op("softplus", saves="x",
                          params=[Param("beta", float, 1.0, rule="nonzero"), Param("threshold", float, 20.0)],
                          doc="``log1p(exp(beta x)) / beta`` element-wise (x where beta x > threshold), "
                              "like jax.nn.softplus for the defaults (beta/threshold: our extension).")
