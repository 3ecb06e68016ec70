"""group_norm on NumPy arrays: ``pykernels.group_norm`` and ``pykernels.group_norm_backward``
(exported by ``import pykernels``; the kernels: kernels/group_norm.h).

    x: (N, C, *) float32/float64; weight, bias: (C,) or None; C divisible by num_groups
    group_norm(x, num_groups, weight, bias, eps) -> (y, mean, rstd)   mean, rstd: (N, num_groups)
    group_norm_backward(grad_output, x, num_groups, mean, rstd, weight)
        -> (grad_input, grad_weight, grad_bias)   (None where need_* is False)
"""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _array, _output, _shape_error

__all__ = ["group_norm", "group_norm_backward"]


def _check(x: np.ndarray, num_groups: int, op: str) -> int:
    if x.ndim < 2:
        raise _shape_error(f"{op}: x: expected at least 2 dims (N, C, *), got shape {x.shape}")
    g = int(num_groups)
    if g < 1 or x.shape[1] % g != 0:
        raise ValueError(f"{op}: Expected number of channels in input to be divisible by "
                         f"num_groups, but got input of shape {list(x.shape)} and num_groups={g}")
    return g


def group_norm(x: np.ndarray, num_groups: int, weight: np.ndarray | None = None,
               bias: np.ndarray | None = None, eps: float = 1e-5, *, num_threads: int = 0):
    """(y, mean, rstd): each group of C/num_groups channels of each sample normalised
    (biased variance, rstd = 1/sqrt(var + eps)), times weight[c] plus bias[c]."""
    op = "pykernels.group_norm"
    x = _array(x, op, "x")
    g = _check(x, num_groups, op)
    y = _output(None, x.shape, x, op)
    mean = _output(None, (x.shape[0], g), x, op)
    rstd = _output(None, (x.shape[0], g), x, op)
    _C.group_norm_forward(g, float(eps), x, weight, bias, y, mean, rstd, num_threads=num_threads)
    return y, mean, rstd


def group_norm_backward(grad_output: np.ndarray, x: np.ndarray, num_groups: int, mean: np.ndarray,
                        rstd: np.ndarray, weight: np.ndarray | None = None, *,
                        need_input: bool = True, need_weight: bool = True, need_bias: bool = True,
                        num_threads: int = 0):
    """(grad_input, grad_weight, grad_bias) from the forward's mean and rstd; None where
    its ``need_*`` is False. Deterministic for any ``num_threads``."""
    op = "pykernels.group_norm_backward"
    grad_output = _array(grad_output, op, "grad_output")
    x = _array(x, op, "x")
    g = _check(x, num_groups, op)
    dx = _output(None, x.shape, x, op) if need_input else None
    dw = _output(None, (x.shape[1],), x, op) if need_weight else None
    db = _output(None, (x.shape[1],), x, op) if need_bias else None
    _C.group_norm_backward(g, 0.0, grad_output, x, weight, mean, rstd, dx, dw, db,
                           num_threads=num_threads)
    return dx, dw, db
