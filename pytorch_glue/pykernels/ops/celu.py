"""celu on NumPy arrays: ``pykernels.celu`` and ``pykernels.celu_backward``
(exported by ``import pykernels``; the kernels: kernels/celu.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["celu", "celu_backward"]


def celu(x: np.ndarray, alpha: float = 1.0, *, out: np.ndarray | None = None,
         num_threads: int = 0) -> np.ndarray:
    """``y = celu(x; alpha)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.celu_forward, "pykernels.celu", x, out, num_threads, float(alpha))


def celu_backward(grad_output: np.ndarray, x: np.ndarray, alpha: float = 1.0, *,
                  out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dcelu/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.celu_backward, "pykernels.celu_backward", grad_output,
                           x, "x", out, num_threads, float(alpha))
