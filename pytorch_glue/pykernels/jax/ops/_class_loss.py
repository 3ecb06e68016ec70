"""What the class-index losses share (cross_entropy.py, nll_loss.py; kernels/nll_loss.h):
argument checks, the reduction codes, torch's shapes brought to the kernels' canonical
(N, C, d) form, and the one custom_vjp both ops use.

The kernels take input (N, C, d1..dk) or (C,) and labels (N, d1..dk) or (); here every
call is brought to input (N, C) or (N, C, D) (D = d1*...*dk: a reshape, no copy) with an
explicit N, so that a vmap axis folds into N. Only the input gets a gradient: labels are
integers and the class weight is treated as a constant (its cotangent is zero; torch
refuses the weight's derivative outright).

vmap: reduction "none" folds the mapped axis into N (one kernel call; a mapped weight
runs once per index); "mean"/"sum" run once per index (a folded mean would average over
the whole batch).
"""
from __future__ import annotations

import functools
import operator

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, fold_batch, like, shape_dtype

NONE, MEAN, SUM = 0, 1, 2  # kn_reduction
_REDUCTIONS = {"none": NONE, "mean": MEAN, "sum": SUM}
_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def reduction_code(op: str, reduction) -> int:
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"pykernels.jax.{op}: reduction must be one of 'none', 'mean', 'sum', "
                         f"got {reduction!r}") from None


def check_labels(op: str, labels, name: str = "labels") -> None:
    d = np.dtype(labels.dtype) if hasattr(labels, "dtype") else np.dtype(jnp.result_type(labels))
    if d not in _INDEX_DTYPES:
        hint = (" (probability targets are not supported: the kernel takes class indices)"
                if jnp.issubdtype(d, jnp.floating) else "")
        raise TypeError(f"pykernels.jax.{op}: {name} must be class indices of dtype int32 or int64, "
                        f"got {d}{hint}")


def check_int(op: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"pykernels.jax.{op}: {name} must be an int, got {value!r}")
    return int(value)


def canonical(op: str, input, labels, weight, class_axis: int, input_name: str):
    """input (..., C, ...) with the classes at ``class_axis`` (already in [0, ndim)) and
    labels = input's shape without it -> (input (N, C[, D]), labels (N[, D]), shape of a
    'none' loss). The leading dims before the class axis become N (1 when there are none),
    the trailing ones D."""
    check_float(op, **{input_name: input, "weight": weight})
    check_labels(op, labels)
    shape = tuple(input.shape)
    before, classes, after = shape[:class_axis], shape[class_axis], shape[class_axis + 1:]
    if tuple(labels.shape) != before + after:
        raise ValueError(f"pykernels.jax.{op}: labels must have shape {before + after} ({input_name} "
                         f"{shape} without its class axis {class_axis}), got {tuple(labels.shape)}")
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ValueError(f"pykernels.jax.{op}: weight must have shape ({classes},), "
                         f"got {tuple(weight.shape)}")
    n = functools.reduce(operator.mul, before, 1)
    tail = (functools.reduce(operator.mul, after, 1),) if after else ()
    return input.reshape((n, classes) + tail), labels.reshape((n,) + tail), before + after


def _forward(op, input, labels, weight, reduction, ignore_index, smoothing):
    # input (N,C[,D]) labels (N[,D]) weight (C,)|None -> loss (N[,D]) | (), total_weight ()
    dt = input.dtype
    attrs = dict(reduction=reduction, ignore_index=ignore_index)
    if op == "cross_entropy":
        attrs["label_smoothing"] = smoothing
    out = labels.shape if reduction == NONE else ()
    if reduction != NONE:  # one call per mapped index under vmap (call's "sequential")
        return call(f"{op}_forward", [shape_dtype(out, dt), shape_dtype((), dt)],
                    input, labels, weight, **attrs)

    def loss_only(i, t, w):  # total_weight is not needed by a 'none' backward: not folded
        return call(f"{op}_forward", [shape_dtype(t.shape, dt), shape_dtype((), dt)], i, t, w, **attrs)[0]
    return fold_batch(loss_only, fold_in=(True, True, False), fold_out=(True,))(input, labels, weight), None


def _backward(op, dloss, input, labels, weight, total_weight, reduction, ignore_index, smoothing):
    # -> dinput (input's shape); cross_entropy recomputes the softmax from the logits, nll
    # needs only the shape
    attrs = dict(reduction=reduction, ignore_index=ignore_index)
    if op == "cross_entropy":
        attrs["label_smoothing"] = smoothing

    def run(g, i, t, w, tw):
        operands = (g, i, t, w, tw) if op == "cross_entropy" else (g, t, w, tw)
        return call(f"{op}_backward", like(i), *operands, **attrs)

    if reduction != NONE:
        return run(dloss, input, labels, weight, total_weight)
    # 'none': g_n = dloss[n], total_weight unread (still a 0-d operand: a constant one)
    return fold_batch(lambda g, i, t, w: run(g, i, t, w, jnp.ones((), i.dtype)),
                      fold_in=(True, True, True, False), fold_out=(True,))(dloss, input, labels, weight)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 4, 5, 6))
def class_loss(op, input, labels, weight, reduction, ignore_index, smoothing):
    """The loss of canonical (input, labels, weight); ``op``: "cross_entropy" | "nll_loss"."""
    return _forward(op, input, labels, weight, reduction, ignore_index, smoothing)[0]


def _class_loss_fwd(op, input, labels, weight, reduction, ignore_index, smoothing):
    loss, total_weight = _forward(op, input, labels, weight, reduction, ignore_index, smoothing)
    return loss, (input, labels, weight, total_weight)


def _class_loss_bwd(op, reduction, ignore_index, smoothing, res, dloss):
    input, labels, weight, total_weight = res
    dinput = _backward(op, dloss, input, labels, weight, total_weight, reduction, ignore_index, smoothing)
    # labels: integers; weight: a constant (zero cotangent)
    return dinput, None, None


class_loss.defvjp(_class_loss_fwd, _class_loss_bwd)
