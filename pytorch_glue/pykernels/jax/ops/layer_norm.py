"""layer_norm on jax.Arrays (targets: jax_ffi/layer_norm.cpp, kernels/layer_norm.h):

    layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5) -> y
        x:(*lead, *norm), normalized_shape = norm (an int or a tuple: x's trailing dims),
        weight, bias:(*norm) or None
        y = (x - mean) / sqrt(var + eps) * weight + bias, mean and the biased var over
        the trailing dims `norm` of each row

torch.nn.functional.layer_norm's names and layout (jax.nn has no layer norm; flax's
LayerNorm names eps `epsilon`, defaults it to 1e-6 and takes reduction axes instead of a
shape). The call runs on x viewed as (rows, prod(norm)) (a free reshape of a row-major
array; the statistics do not depend on it).

The forward's per-row mean and rstd are saved for the backward (the kernel's own
outputs, never recomputed). Gradients for x, weight and bias, computing only those JAX
asks for (custom_vjp with symbolic zeros).
vmap: over x folds the mapped axis into the rows (one call); the dx-only backward folds
too; a mapped weight or bias, or per-example weight/bias gradients, run one call per index.
"""
from __future__ import annotations

import numpy as np

from .._ffi import check_float
from ._norm import norm_function

__all__ = ["layer_norm"]


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each row of x over its trailing ``normalized_shape`` dims; see the module docstring."""
    op = "layer_norm"
    check_float(op, x=x, weight=weight, bias=bias)
    norm = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if (not norm or any(isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) for d in norm)):
        raise TypeError(f"pykernels.jax.{op}: normalized_shape must be an int or a non-empty tuple of "
                        f"ints, got {normalized_shape!r}")
    norm = tuple(int(d) for d in norm)
    if len(norm) > x.ndim or tuple(x.shape[x.ndim - len(norm):]) != norm:
        raise ValueError(f"pykernels.jax.{op}: normalized_shape {norm} is not the trailing dims of x's "
                         f"shape {tuple(x.shape)}")
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and tuple(a.shape) != norm:
            raise ValueError(f"pykernels.jax.{op}: {name} has shape {tuple(a.shape)}, expected {norm}")
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"pykernels.jax.{op}: eps must be finite and >= 0, got {eps}")
    d = int(np.prod(norm, dtype=np.int64))
    rows = int(np.prod(x.shape[:x.ndim - len(norm)], dtype=np.int64))
    # x:(rows, D), weight/bias:(D,): normalized_ndim 1
    f = norm_function(op, (("normalized_ndim", 1), ("eps", eps)), (d,))
    y = f(x.reshape(rows, d), None if weight is None else weight.reshape(d),
          None if bias is None else bias.reshape(d))
    return y.reshape(x.shape)
