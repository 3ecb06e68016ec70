"""softplus on NumPy arrays: ``pykernels.softplus`` and ``pykernels.softplus_backward``
(exported by ``import pykernels``; the kernels: kernels/softplus.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["softplus", "softplus_backward"]


def softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0, *, out: np.ndarray | None = None,
             num_threads: int = 0) -> np.ndarray:
    """``y = softplus(x; beta, threshold)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.softplus_forward, "pykernels.softplus", x, out, num_threads, float(beta), float(threshold))


def softplus_backward(grad_output: np.ndarray, x: np.ndarray, beta: float = 1.0, threshold: float = 20.0, *,
                      out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dsoftplus/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.softplus_backward, "pykernels.softplus_backward", grad_output,
                           x, "x", out, num_threads, float(beta), float(threshold))
