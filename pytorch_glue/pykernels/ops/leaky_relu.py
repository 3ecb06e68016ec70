"""leaky_relu on NumPy arrays: ``pykernels.leaky_relu`` and ``pykernels.leaky_relu_backward``
(exported by ``import pykernels``; the kernels: kernels/leaky_relu.h)."""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _unary, _unary_backward

__all__ = ["leaky_relu", "leaky_relu_backward"]


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01, *, out: np.ndarray | None = None,
               num_threads: int = 0) -> np.ndarray:
    """``y = x if x > 0 else negative_slope * x`` element-wise; ``out=x`` allowed."""
    return _unary(_C.leaky_relu_forward, "pykernels.leaky_relu", x, out, num_threads,
                  float(negative_slope))


def leaky_relu_backward(grad_output: np.ndarray, self: np.ndarray, negative_slope: float = 0.01,
                        self_is_result: bool = False, *, out: np.ndarray | None = None,
                        num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output if self > 0 else negative_slope * grad_output``.

    ``self`` is the forward's input, or its output when ``self_is_result`` (an in-place
    forward; then ``negative_slope`` must be >= 0, else KernelError)."""
    return _unary_backward(_C.leaky_relu_backward, "pykernels.leaky_relu_backward", grad_output,
                           self, "self", out, num_threads, float(negative_slope),
                           bool(self_is_result))
