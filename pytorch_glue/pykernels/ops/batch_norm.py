"""batch_norm on NumPy arrays: ``pykernels.batch_norm`` and ``pykernels.batch_norm_backward``
(exported by ``import pykernels``; the kernels: kernels/batch_norm.h).

    x: (N, C, *) float32/float64 with at least 2 dims; weight, bias, running_mean,
    running_var: (C,) or None
    batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
        -> (y, save_mean, save_invstd); in training the running stats (when given) are
           updated IN PLACE (momentum, unbiased batch variance), as torch
    batch_norm_backward(grad_output, x, weight, save_mean, save_invstd, training)
        -> (grad_input, grad_weight, grad_bias)

Any strides (a channels-last array is read in place).
"""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _array, _output, _shape_error

__all__ = ["batch_norm", "batch_norm_backward"]


def _optional(a, op: str, name: str):
    return None if a is None else _array(a, op, name)


def _input(x, op: str, name: str) -> np.ndarray:
    x = _array(x, op, name)
    if x.ndim < 2:
        raise _shape_error(f"{op}: {name}: expected (N, C, *) with at least 2 dims, got shape "
                           f"{x.shape}")
    return x


def batch_norm(x: np.ndarray, running_mean: np.ndarray | None = None,
               running_var: np.ndarray | None = None, weight: np.ndarray | None = None,
               bias: np.ndarray | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5, *, out: np.ndarray | None = None,
               num_threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, save_mean, save_invstd): y = (x - mean) / sqrt(var + eps) * weight + bias per
    channel (dim 1). training: the batch's mean and biased variance (save_*), and the
    running stats updated in place with ``momentum``; eval: the running stats (required).
    save_invstd = 1 / sqrt(var + eps), what batch_norm_backward takes."""
    op = "pykernels.batch_norm"
    x = _input(x, op, "x")
    args = [_optional(a, op, n) for a, n in ((weight, "weight"), (bias, "bias"),
                                             (running_mean, "running_mean"),
                                             (running_var, "running_var"))]
    y = _output(out, x.shape, x, op)
    C = x.shape[1]
    save_mean, save_invstd = np.empty((C,), x.dtype), np.empty((C,), x.dtype)
    _C.batch_norm_forward(bool(training), float(momentum), float(eps), x, *args, y, save_mean,
                          save_invstd, num_threads=num_threads)
    return y, save_mean, save_invstd


def batch_norm_backward(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                        save_mean: np.ndarray, save_invstd: np.ndarray, training: bool = True,
                        *, num_threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_input, grad_weight, grad_bias) of batch_norm from its save_mean and
    save_invstd (training: torch's formula through the batch statistics; eval:
    grad_input = grad_output * save_invstd * weight)."""
    op = "pykernels.batch_norm_backward"
    grad_output = _input(grad_output, op, "grad_output")
    x = _input(x, op, "x")
    weight = _optional(weight, op, "weight")
    save_mean, save_invstd = _array(save_mean, op, "save_mean"), _array(save_invstd, op, "save_invstd")
    dx = np.empty(x.shape, x.dtype)
    C = x.shape[1]
    dw, db = np.empty((C,), x.dtype), np.empty((C,), x.dtype)
    _C.batch_norm_backward(bool(training), grad_output, x, weight, save_mean, save_invstd, dx, dw,
                           db, num_threads=num_threads)
    return dx, dw, db
