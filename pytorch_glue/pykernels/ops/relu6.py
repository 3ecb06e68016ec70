"""relu6 on NumPy arrays: ``pykernels.relu6`` and ``pykernels.relu6_backward``
(exported by ``import pykernels``; the kernels: kernels/relu6.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["relu6", "relu6_backward"]


def relu6(x: np.ndarray, *, out: np.ndarray | None = None,
          num_threads: int = 0) -> np.ndarray:
    """``y = relu6(x)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.relu6_forward, "pykernels.relu6", x, out, num_threads)


def relu6_backward(grad_output: np.ndarray, output: np.ndarray, *,
                   out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * drelu6/dx``, from the forward's OUTPUT y."""
    return _unary_backward(_C.relu6_backward, "pykernels.relu6_backward", grad_output,
                           output, "output", out, num_threads)
