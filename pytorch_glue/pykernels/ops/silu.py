"""silu on NumPy arrays: ``pykernels.silu`` and ``pykernels.silu_backward``
(exported by ``import pykernels``; the kernels: kernels/silu.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["silu", "silu_backward"]


def silu(x: np.ndarray, *, out: np.ndarray | None = None,
         num_threads: int = 0) -> np.ndarray:
    """``y = silu(x)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.silu_forward, "pykernels.silu", x, out, num_threads)


def silu_backward(grad_output: np.ndarray, x: np.ndarray, *,
                  out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dsilu/dx``, from the forward's INPUT x."""
    return _unary_backward(_C.silu_backward, "pykernels.silu_backward", grad_output,
                           x, "x", out, num_threads)
