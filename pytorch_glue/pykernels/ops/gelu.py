"""gelu on NumPy arrays: ``pykernels.gelu`` and ``pykernels.gelu_backward``
(exported by ``import pykernels``; the kernels: kernels/gelu.h), and
``_gelu_code``, the 'none' | 'tanh' argument as the C enum (shared with
pykernels.torch)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["gelu", "gelu_backward"]

_GELU_APPROXIMATE = {"none": _C.GELU_NONE, "tanh": _C.GELU_TANH}


def _gelu_code(approximate: str, op: str) -> int:
    """'none' | 'tanh' -> the kn_gelu_approximate code (shared with pykernels.torch)."""
    try:
        return _GELU_APPROXIMATE[approximate]
    except (KeyError, TypeError):
        raise ValueError(
            f"{op}: approximate must be 'none' or 'tanh', got {approximate!r}") from None


def gelu(x: np.ndarray, approximate: str = "none", *, out: np.ndarray | None = None,
         num_threads: int = 0) -> np.ndarray:
    """GELU: ``x * Phi(x)`` (``approximate='none'``) or its tanh form (``'tanh'``)."""
    op = "pykernels.gelu"
    return _unary(_C.gelu_forward, op, x, out, num_threads, _gelu_code(approximate, op))


def gelu_backward(grad_output: np.ndarray, x: np.ndarray, approximate: str = "none", *,
                  out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * gelu'(x)`` from the forward's INPUT."""
    op = "pykernels.gelu_backward"
    return _unary_backward(_C.gelu_backward, op, grad_output, x, "x", out, num_threads,
                           _gelu_code(approximate, op))
