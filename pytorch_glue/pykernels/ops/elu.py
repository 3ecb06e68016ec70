"""elu on NumPy arrays: ``pykernels.elu`` and ``pykernels.elu_backward``
(exported by ``import pykernels``; the kernels: kernels/elu.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["elu", "elu_backward"]


def elu(x: np.ndarray, alpha: float = 1.0, *, out: np.ndarray | None = None,
        num_threads: int = 0) -> np.ndarray:
    """``y = elu(x; alpha)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.elu_forward, "pykernels.elu", x, out, num_threads, float(alpha))


def elu_backward(grad_output: np.ndarray, x: np.ndarray, alpha: float = 1.0, *,
                 out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * delu/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.elu_backward, "pykernels.elu_backward", grad_output,
                           x, "x", out, num_threads, float(alpha))
