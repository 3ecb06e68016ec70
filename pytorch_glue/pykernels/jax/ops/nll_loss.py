"""Negative log-likelihood loss on jax.Arrays (targets: jax_ffi/nll_loss.cpp):

    nll_loss(log_probs, labels, reduction="mean", weight=None, ignore_index=-100) -> loss
        torch's F.nll_loss: log_probs (N, C, d1..dk) or (C,), labels int32/int64 of shape
        (N, d1..dk) or (); loss_n = -weight[label_n] * log_probs[n, label_n] (0 where the
        label is ``ignore_index``); "none" -> labels' shape, "mean" (divided by the sum of
        weight[label] over the kept rows, NaN when there are none) / "sum" -> ().

Only log_probs gets a gradient (labels are integers; ``weight`` is treated as a constant,
zero gradient, where torch refuses it). Float32 and float64.

vmap: reduction="none" folds the mapped axis into the kernel's N (one call); "mean" and
"sum", or a mapped weight, run once per index.

jax and optax have no nll_loss: the name and arguments are torch's (its class dim 1),
except that ``reduction`` comes third as in pykernels.jax.cross_entropy. A label outside
[0, C) that is not ``ignore_index`` is an error of the CPU kernel
(jax.errors.JaxRuntimeError when the call runs), NaN on CUDA.
"""
from __future__ import annotations

from ._class_loss import NONE, canonical, check_int, class_loss, reduction_code

__all__ = ["nll_loss"]


def nll_loss(log_probs, labels, reduction="mean", weight=None, ignore_index=-100):
    """torch's nll_loss of log_probs (N, C, d1..dk) or (C,) with class indices labels
    (N, d1..dk) or (); see the module docstring."""
    op = "nll_loss"
    code = reduction_code(op, reduction)
    ignore_index = check_int(op, "ignore_index", ignore_index)
    if not hasattr(log_probs, "ndim") or log_probs.ndim < 1:
        raise ValueError(f"pykernels.jax.{op}: log_probs must be (N, C, d1, ..., dk) or (C,), "
                         f"got {getattr(log_probs, 'shape', type(log_probs).__name__)}")
    x, t, shape = canonical(op, log_probs, labels, weight, 0 if log_probs.ndim == 1 else 1, "log_probs")
    loss = class_loss(op, x, t, weight, code, ignore_index, 0.0)
    return loss.reshape(shape) if code == NONE else loss
