"""hardswish on NumPy arrays: ``pykernels.hardswish`` and ``pykernels.hardswish_backward``
(exported by ``import pykernels``; the kernels: kernels/hardswish.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["hardswish", "hardswish_backward"]


def hardswish(x: np.ndarray, *, out: np.ndarray | None = None,
              num_threads: int = 0) -> np.ndarray:
    """``y = hardswish(x)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.hardswish_forward, "pykernels.hardswish", x, out, num_threads)


def hardswish_backward(grad_output: np.ndarray, x: np.ndarray, *,
                       out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dhardswish/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.hardswish_backward, "pykernels.hardswish_backward", grad_output,
                           x, "x", out, num_threads)
