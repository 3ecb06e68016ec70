"""Mean squared error on jax.Arrays (targets: jax_ffi/mse_loss.cpp):

    mse_loss(predictions, targets, reduction="mean") -> loss
        (predictions - targets)**2, then "none" (their shape), "mean" or "sum" (0-d;
        a mean over zero elements is NaN), torch's F.mse_loss
    squared_error(predictions, targets=None) -> (predictions - targets)**2
        optax's name (targets None = zeros): mse_loss with reduction="none"

predictions and targets: float32/float64 of one shape (any ndim; no broadcasting) and
both get gradients (one kn_mse_loss_backward call computes both).

vmap: reduction="none" is element-wise: one call on the whole batch (unmapped operands
broadcast); "mean"/"sum" run once per index (a folded mean would average the batch).

Departures: mse_loss is torch's (optax has no mean squared error function; its
``squared_error`` is here); the two arrays must have one shape (optax broadcasts).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .._ffi import call, check_float, like, shape_dtype
from ._class_loss import NONE, reduction_code

__all__ = ["mse_loss", "squared_error"]


def _vmap_method(reduction):
    # 'none' maps element-wise: the batched operands are one bigger array
    return "broadcast_all" if reduction == NONE else "sequential"


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _mse(p, t, reduction):
    out = p.shape if reduction == NONE else ()
    return call("mse_loss_forward", shape_dtype(out, p.dtype), p, t,
                vmap_method=_vmap_method(reduction), reduction=reduction)


def _mse_fwd(p, t, reduction):
    return _mse(p, t, reduction), (p, t)


def _mse_bwd(reduction, res, dloss):
    p, t = res
    # dloss: p's shape ('none') or () -> dp = 2 (p - t) dloss [/ numel], dt = -dp
    dp, dt = call("mse_loss_backward", [like(p), like(t)], dloss, p, t,
                  vmap_method=_vmap_method(reduction), reduction=reduction)
    return dp, dt


_mse.defvjp(_mse_fwd, _mse_bwd)


def _check(op, predictions, targets):
    check_float(op, predictions=predictions, targets=targets)
    if tuple(predictions.shape) != tuple(targets.shape):
        raise ValueError(f"pykernels.jax.{op}: predictions {tuple(predictions.shape)} and targets "
                         f"{tuple(targets.shape)} must have one shape")


def mse_loss(predictions, targets, reduction="mean"):
    """``(predictions - targets)**2`` reduced by ``reduction`` ("none" | "mean" | "sum")."""
    code = reduction_code("mse_loss", reduction)
    _check("mse_loss", predictions, targets)
    return _mse(predictions, targets, code)


def squared_error(predictions, targets=None):
    """``(predictions - targets)**2`` element-wise, like optax.squared_error (targets None:
    zeros)."""
    if targets is None:
        check_float("squared_error", predictions=predictions)
        targets = jnp.zeros_like(predictions)
    _check("squared_error", predictions, targets)
    return _mse(predictions, targets, NONE)
