"""@@op@@ on jax.Arrays (targets: jax_ffi/@@op@@.cpp):

    @@op@@(x@@jax_sig_doc@@) -> y = @@op@@(x@@doc_params@@), element-wise    @@jax_peer_doc@@

Parameters: @@doc_param_rules@@; static (Python values: part of the jit cache key),
checked before any FFI call (ValueError). Any shape, float32/float64; the gradient
comes from @@saved_doc@@ (jax.custom_vjp over kn_@@op@@_backward). vmap: one call on
the whole batch (element-wise: vmap_method "broadcast_all").
"""
from __future__ import annotations

from .._elementwise import @@elementwise_imports@@

__all__ = ["@@op@@"]

@@op@@ = elementwise_op("@@op@@", saves="@@saved@@",
@@jax_pad@@params=[@@jax_param_specs@@])
