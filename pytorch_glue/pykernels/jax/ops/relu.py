"""relu on jax.Arrays: ``pykernels.jax.relu(x)`` like ``jax.nn.relu`` (targets: jax_ffi/relu.cpp)."""
from __future__ import annotations

from .._elementwise import elementwise_op

__all__ = ["relu"]

relu = elementwise_op("relu", saves="x", doc="``max(x, 0)`` element-wise, like jax.nn.relu.")
