"""Cross-entropy of logits with integer labels on jax.Arrays (targets: jax_ffi/cross_entropy.cpp;
log_softmax fused into the NLL: no (N, C) log-probability array is made or kept).

    softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1) -> loss
        optax's function: logits (..., C) (classes at ``axis``, any int axis), labels the
        logits' shape without that axis -> the per-example losses (labels' shape).
    cross_entropy(logits, labels, reduction="mean", weight=None, ignore_index=-100,
                  label_smoothing=0.0) -> loss
        torch's F.cross_entropy for class indices: logits (N, C, d1..dk) or (C,), labels
        (N, d1..dk) or (); weight (C,) per-class; rows whose label is ``ignore_index`` count
        0; label smoothing as torch; "none" -> labels' shape, "mean" (divided by the sum
        of weight[label] over the kept rows, NaN when there are none) / "sum" -> ().

Labels are int32 or int64 and get no gradient; the logits do (the backward recomputes
each row's softmax); ``weight`` is treated as a constant (zero gradient; torch refuses
it). Float32 and float64.

vmap: per-example losses (optax's function, reduction="none") fold the mapped axis into
the kernel's N (one call); "mean"/"sum", or a mapped weight, run once per index.

Departures: no probability (float) targets, which the kernel does not take (a float
``labels`` raises TypeError: use ``optax.softmax_cross_entropy``); optax's ``axis`` is
one int (not a tuple) and its ``where`` argument is absent. A label outside [0, C) (and,
for ``cross_entropy``, not ``ignore_index``) is an error of the CPU kernel, raised as
``jax.errors.JaxRuntimeError`` when the call runs (values are not known before: jit);
the CUDA kernel gives NaN instead (kernels/nll_loss.h).
"""
from __future__ import annotations

from ._class_loss import NONE, canonical, check_int, class_loss, reduction_code

__all__ = ["softmax_cross_entropy_with_integer_labels", "cross_entropy"]

# optax has no ignore_index: a value no int32/int64 label equals, so every label counts
_NO_IGNORE = -(2 ** 63)


def softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1):
    """``-log_softmax(logits, axis)[label]`` per example, like optax: logits (..., C, ...)
    with the classes at ``axis`` (an int), labels int32/int64 of the logits' shape without
    ``axis`` -> losses of the labels' shape."""
    op = "softmax_cross_entropy_with_integer_labels"
    if not hasattr(logits, "ndim") or logits.ndim < 1:
        raise ValueError(f"pykernels.jax.{op}: logits must have at least 1 dim (the classes), "
                         f"got {getattr(logits, 'shape', type(logits).__name__)}")
    ax = check_int(op, "axis", axis)
    if not -logits.ndim <= ax < logits.ndim:
        raise ValueError(f"pykernels.jax.{op}: axis {axis} is out of range for logits of shape "
                         f"{tuple(logits.shape)}")
    x, t, shape = canonical(op, logits, labels, None, ax % logits.ndim, "logits")
    # x (N,C[,D]) with N = the dims before axis, D = those after: a reshape, no transpose
    return class_loss("cross_entropy", x, t, None, NONE, _NO_IGNORE, 0.0).reshape(shape)


def cross_entropy(logits, labels, reduction="mean", weight=None, ignore_index=-100, label_smoothing=0.0):
    """torch's cross_entropy of logits (N, C, d1..dk) or (C,) with class indices labels
    (N, d1..dk) or () (int32/int64); see the module docstring."""
    op = "cross_entropy"
    code = reduction_code(op, reduction)
    ignore_index = check_int(op, "ignore_index", ignore_index)
    smoothing = float(label_smoothing)
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"pykernels.jax.{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not hasattr(logits, "ndim") or logits.ndim < 1:
        raise ValueError(f"pykernels.jax.{op}: logits must be (N, C, d1, ..., dk) or (C,), "
                         f"got {getattr(logits, 'shape', type(logits).__name__)}")
    # (C,) is one row: the classes at axis 0 and N = 1; else torch's class dim 1
    x, t, shape = canonical(op, logits, labels, weight, 0 if logits.ndim == 1 else 1, "logits")
    loss = class_loss(op, x, t, weight, code, ignore_index, smoothing)
    return loss.reshape(shape) if code == NONE else loss
