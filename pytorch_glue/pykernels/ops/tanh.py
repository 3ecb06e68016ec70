"""tanh on NumPy arrays: ``pykernels.tanh`` and ``pykernels.tanh_backward``
(exported by ``import pykernels``; the kernels: kernels/tanh.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["tanh", "tanh_backward"]


def tanh(x: np.ndarray, *, out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``y = tanh(x)`` element-wise; ``out=x`` allowed."""
    return _unary(_C.tanh_forward, "pykernels.tanh", x, out, num_threads)


def tanh_backward(grad_output: np.ndarray, output: np.ndarray, *,
                  out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * (1 - output**2)`` from the forward's OUTPUT."""
    return _unary_backward(_C.tanh_backward, "pykernels.tanh_backward", grad_output, output,
                           "output", out, num_threads)
