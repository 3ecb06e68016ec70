"""sigmoid on NumPy arrays: ``pykernels.sigmoid`` and ``pykernels.sigmoid_backward``
(exported by ``import pykernels``; the kernels: kernels/sigmoid.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["sigmoid", "sigmoid_backward"]


def sigmoid(x: np.ndarray, *, out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``y = 1 / (1 + exp(-x))`` element-wise (no overflow for any x); ``out=x`` allowed."""
    return _unary(_C.sigmoid_forward, "pykernels.sigmoid", x, out, num_threads)


def sigmoid_backward(grad_output: np.ndarray, output: np.ndarray, *,
                     out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * (1 - output) * output`` from the forward's OUTPUT."""
    return _unary_backward(_C.sigmoid_backward, "pykernels.sigmoid_backward", grad_output,
                           output, "output", out, num_threads)
