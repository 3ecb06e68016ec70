"""hardsigmoid on NumPy arrays: ``pykernels.hardsigmoid`` and ``pykernels.hardsigmoid_backward``
(exported by ``import pykernels``; the kernels: kernels/hardsigmoid.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["hardsigmoid", "hardsigmoid_backward"]


def hardsigmoid(x: np.ndarray, *, out: np.ndarray | None = None,
                num_threads: int = 0) -> np.ndarray:
    """``y = hardsigmoid(x)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.hardsigmoid_forward, "pykernels.hardsigmoid", x, out, num_threads)


def hardsigmoid_backward(grad_output: np.ndarray, x: np.ndarray, *,
                         out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dhardsigmoid/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.hardsigmoid_backward, "pykernels.hardsigmoid_backward", grad_output,
                           x, "x", out, num_threads)
