"""mish on NumPy arrays: ``pykernels.mish`` and ``pykernels.mish_backward``
(exported by ``import pykernels``; the kernels: kernels/mish.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["mish", "mish_backward"]


def mish(x: np.ndarray, *, out: np.ndarray | None = None,
         num_threads: int = 0) -> np.ndarray:
    """``y = mish(x)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.mish_forward, "pykernels.mish", x, out, num_threads)


def mish_backward(grad_output: np.ndarray, x: np.ndarray, *,
                  out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dmish/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.mish_backward, "pykernels.mish_backward", grad_output,
                           x, "x", out, num_threads)
