"""group_norm on jax.Arrays (targets: jax_ffi/group_norm.cpp, kernels/group_norm.h):

    group_norm(x, num_groups, weight=None, bias=None, eps=1e-5) -> y
        x:(N, C, *) (2 to 8 dims), num_groups divides C, weight, bias:(C,) or None
        y = (x - mean[n, g]) / sqrt(var[n, g] + eps) * weight[c] + bias[c], mean and the
        biased var over the C / num_groups channels of group g and every position

torch.nn.functional.group_norm's names and its channels-first layout (jax.nn has no
group norm; flax's GroupNorm is channels-last, names eps `epsilon` and defaults it to 1e-6).

The forward's mean and rstd, (N, num_groups), are saved for the backward. Gradients for
x, weight and bias, computing only those JAX asks for (custom_vjp with symbolic zeros).
vmap: over x folds the mapped axis into N (one call); the dx-only backward folds too; a
mapped weight or bias, or per-example weight/bias gradients, run one call per index.
"""
from __future__ import annotations

import numpy as np

from .._ffi import check_float
from ._norm import norm_function

__all__ = ["group_norm"]


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise x:(N, C, *) over groups of channels; see the module docstring."""
    op = "group_norm"
    check_float(op, x=x, weight=weight, bias=bias)
    if not 2 <= x.ndim <= 8:
        raise ValueError(f"pykernels.jax.{op}: x must be (N, C, *) with 2 to 8 dims, got shape {tuple(x.shape)}")
    if isinstance(num_groups, (bool, np.bool_)) or not isinstance(num_groups, (int, np.integer)) \
            or num_groups < 1 or x.shape[1] % num_groups:
        raise ValueError(f"pykernels.jax.{op}: num_groups must be an int >= 1 dividing the {x.shape[1]} "
                         f"channels, got {num_groups!r}")
    c = x.shape[1]
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and tuple(a.shape) != (c,):
            raise ValueError(f"pykernels.jax.{op}: {name} has shape {tuple(a.shape)}, expected ({c},)")
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"pykernels.jax.{op}: eps must be finite and >= 0, got {eps}")
    f = norm_function(op, (("num_groups", int(num_groups)), ("eps", eps)), (c,))
    return f(x, weight, bias)
