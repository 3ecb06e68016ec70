"""layer_norm on NumPy arrays: ``pykernels.layer_norm`` and ``pykernels.layer_norm_backward``
(exported by ``import pykernels``; the kernels: kernels/layer_norm.h).

    x: (*lead, *normalized_shape) float32/float64; weight, bias: normalized_shape or None
    layer_norm(x, normalized_shape, weight, bias, eps) -> (y, mean, rstd)
        y = (x - mean) * rstd * weight + bias over the trailing dims; mean, rstd: (*lead)
    layer_norm_backward(grad_output, x, normalized_shape, mean, rstd, weight)
        -> (grad_input, grad_weight, grad_bias)   (None where need_* is False)

Any strides. mean and rstd have x's leading dims only (torch keeps (*lead, 1, ..., 1)).
"""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _array, _output, _shape_error

__all__ = ["layer_norm", "layer_norm_backward"]


def _normalized(x: np.ndarray, normalized_shape, op: str) -> int:
    """len(normalized_shape), after checking it against x's trailing dims (torch's rule)."""
    shape = (int(normalized_shape),) if np.isscalar(normalized_shape) else tuple(
        int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise _shape_error(f"{op}: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size {list(x.shape)}")
    return k


def layer_norm(x: np.ndarray, normalized_shape, weight: np.ndarray | None = None,
               bias: np.ndarray | None = None, eps: float = 1e-5, *, num_threads: int = 0):
    """(y, mean, rstd): x normalised over its last len(normalized_shape) dims (biased
    variance, rstd = 1/sqrt(var + eps)), times weight plus bias (each None = absent)."""
    op = "pykernels.layer_norm"
    x = _array(x, op, "x")
    k = _normalized(x, normalized_shape, op)
    if weight is not None:
        _array(weight, op, "weight")
    if bias is not None:
        _array(bias, op, "bias")
    lead = x.shape[:x.ndim - k]
    y = _output(None, x.shape, x, op)
    mean = _output(None, lead, x, op)
    rstd = _output(None, lead, x, op)
    _C.layer_norm_forward(k, float(eps), x, weight, bias, y, mean, rstd, num_threads=num_threads)
    return y, mean, rstd


def layer_norm_backward(grad_output: np.ndarray, x: np.ndarray, normalized_shape, mean: np.ndarray,
                        rstd: np.ndarray, weight: np.ndarray | None = None, *,
                        need_input: bool = True, need_weight: bool = True, need_bias: bool = True,
                        num_threads: int = 0):
    """(grad_input, grad_weight, grad_bias) from the forward's mean and rstd; each is None
    where its ``need_*`` is False. grad_weight and grad_bias are summed over the rows in a
    fixed order (the same bits for any ``num_threads``)."""
    op = "pykernels.layer_norm_backward"
    grad_output = _array(grad_output, op, "grad_output")
    x = _array(x, op, "x")
    k = _normalized(x, normalized_shape, op)
    norm = x.shape[x.ndim - k:]
    dx = _output(None, x.shape, x, op) if need_input else None
    dw = _output(None, norm, x, op) if need_weight else None
    db = _output(None, norm, x, op) if need_bias else None
    _C.layer_norm_backward(k, 0.0, grad_output, x, weight, mean, rstd, dx, dw, db,
                           num_threads=num_threads)
    return dx, dw, db
