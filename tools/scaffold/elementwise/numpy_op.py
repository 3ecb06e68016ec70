"""@@op@@ on NumPy arrays: ``pykernels.@@op@@`` and ``pykernels.@@op@@_backward``
(exported by ``import pykernels``; the kernels: kernels/@@op@@.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["@@op@@", "@@op@@_backward"]


def @@op@@(x: np.ndarray@@py_params@@, *, out: np.ndarray | None = None,
@@pad@@num_threads: int = 0) -> np.ndarray:
    """``y = @@op@@(x@@doc_params@@)`` element-wise, any shape and strides; ``out=x`` allowed."""
    return _unary(_C.@@op@@_forward, "pykernels.@@op@@", x, out, num_threads@@py_convert@@)


def @@op@@_backward(grad_output: np.ndarray, @@saved_py@@: np.ndarray@@py_params@@, *,
@@pad@@         out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * d@@op@@/dx``, from the forward's @@saved_doc_upper@@."""
    return _unary_backward(_C.@@op@@_backward, "pykernels.@@op@@_backward", grad_output,
                           @@saved_py@@, "@@saved_py@@", out, num_threads@@py_convert@@)
