"""hardtanh on NumPy arrays: ``pykernels.hardtanh`` and ``pykernels.hardtanh_backward``
(exported by ``import pykernels``; the kernels: kernels/hardtanh.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["hardtanh", "hardtanh_backward"]


def hardtanh(x: np.ndarray, min_val: float = -1.0, max_val: float = 1.0, *, out: np.ndarray | None = None,
             num_threads: int = 0) -> np.ndarray:
    """``y = hardtanh(x; min_val, max_val)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.hardtanh_forward, "pykernels.hardtanh", x, out, num_threads, float(min_val), float(max_val))


def hardtanh_backward(grad_output: np.ndarray, output: np.ndarray, min_val: float = -1.0, max_val: float = 1.0, *,
                      out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * dhardtanh/dx``, from the forward's OUTPUT y."""
    return _unary_backward(_C.hardtanh_backward, "pykernels.hardtanh_backward", grad_output,
                           output, "output", out, num_threads, float(min_val), float(max_val))
