"""adaptive pooling on NumPy arrays: ``pykernels.adaptive_avg_pool2d``,
``pykernels.adaptive_max_pool2d`` and their ``_backward`` (exported by ``import
pykernels``; the kernels: kernels/adaptive_pool2d.h).

    adaptive_avg_pool2d(x (N,C,H,W), output_size) -> (N,C,Ho,Wo)
    adaptive_max_pool2d(x, output_size) -> (y, indices): indices int64 (or int32 with
        ``index_dtype``) flat positions h*W + w, as torch's return_indices=True
    adaptive_avg_pool2d_backward(grad_output (N,C,Ho,Wo), input_shape) -> grad_input
    adaptive_max_pool2d_backward(grad_output, indices, input_shape) -> grad_input

output_size: an int, or an (h, w) pair whose entries may be None (= the input's size),
as torch. Output row oh pools the input rows [floor(oh H / Ho), ceil((oh + 1) H / Ho)).
Empty inputs as torch: H, W must be >= 1 (and C for max pooling and both backwards).
"""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _array, _output, _shape_error

__all__ = ["adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d",
           "adaptive_max_pool2d_backward"]


def _adaptive_output_size(output_size, input_size, op: str) -> tuple:
    """(Ho, Wo) from torch's output_size forms: an int, or a sequence of 2 entries,
    None = that dim of input_size (H, W). TypeError for other types, pykernels.ShapeError
    (a ValueError and a RuntimeError) for another length or a negative size."""
    if isinstance(output_size, (bool, str, bytes)):
        raise TypeError(f"{op}: output_size: expected an int or a pair, got {output_size!r}")
    if isinstance(output_size, (int, np.integer)):
        out = (int(output_size), int(output_size))
    else:
        try:
            t = tuple(output_size)
        except TypeError:
            raise TypeError(f"{op}: output_size: expected an int or a pair, "
                            f"got {output_size!r}") from None
        if len(t) != 2:  # torch: "output_size must be 2" (a RuntimeError there)
            raise _shape_error(f"{op}: output_size must be 2, got {output_size!r}")
        if any(isinstance(a, bool) or not (a is None or hasattr(a, "__index__"))
                              for a in t):
            raise TypeError(f"{op}: output_size: expected an int or a pair of ints/None, "
                            f"got {output_size!r}")
        out = tuple(int(input_size[i]) if a is None else int(a) for i, a in enumerate(t))
    if out[0] < 0 or out[1] < 0:
        raise _shape_error(f"{op}: elements of output_size must be greater than or equal to 0, "
                           f"got {out}")
    return out


def _input4(x, op: str, name: str) -> np.ndarray:
    _array(x, op, name)
    if x.ndim != 4:
        raise _shape_error(f"{op}: {name}: expected (N, C, H, W), got shape {x.shape}")
    return x


def adaptive_avg_pool2d(x: np.ndarray, output_size, *, out: np.ndarray | None = None,
                        num_threads: int = 0) -> np.ndarray:
    """torch.nn.functional.adaptive_avg_pool2d on x (N, C, H, W) -> (N, C, Ho, Wo)."""
    op = "pykernels.adaptive_avg_pool2d"
    x = _input4(x, op, "x")
    size = _adaptive_output_size(output_size, x.shape[2:], op)
    y = _output(out, x.shape[:2] + size, x, op)
    _C.adaptive_avg_pool2d_forward(x, y, num_threads=num_threads)
    return y


def adaptive_avg_pool2d_backward(grad_output: np.ndarray, input_shape, *,
                                 out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool2d`: grad_output (N, C, Ho, Wo) -> grad_input of
    ``input_shape`` (N, C, H, W); deterministic for any ``num_threads``."""
    op = "pykernels.adaptive_avg_pool2d_backward"
    grad_output = _input4(grad_output, op, "grad_output")
    dx = _output(out, tuple(int(s) for s in input_shape), grad_output, op)
    if dx.ndim != 4:
        raise _shape_error(f"{op}: input_shape: expected (N, C, H, W), got {tuple(input_shape)}")
    _C.adaptive_avg_pool2d_backward(grad_output, dx, num_threads=num_threads)
    return dx


def adaptive_max_pool2d(x: np.ndarray, output_size, *, index_dtype=np.int64,
                        num_threads: int = 0):
    """torch.nn.functional.adaptive_max_pool2d(x, output_size, return_indices=True) on
    x (N, C, H, W) -> ``(y, indices)``, both (N, C, Ho, Wo)."""
    op = "pykernels.adaptive_max_pool2d"
    x = _input4(x, op, "x")
    shape = x.shape[:2] + _adaptive_output_size(output_size, x.shape[2:], op)
    y, indices = np.empty(shape, x.dtype), np.empty(shape, index_dtype)
    _C.adaptive_max_pool2d_forward(x, y, indices, num_threads=num_threads)
    return y, indices


def adaptive_max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray, input_shape, *,
                                 out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool2d`: grad_output summed where the indices point,
    0 elsewhere, into grad_input of ``input_shape`` (N, C, H, W)."""
    op = "pykernels.adaptive_max_pool2d_backward"
    grad_output = _input4(grad_output, op, "grad_output")
    _array(indices, op, "indices")
    dx = _output(out, tuple(int(s) for s in input_shape), grad_output, op)
    if dx.ndim != 4:
        raise _shape_error(f"{op}: input_shape: expected (N, C, H, W), got {tuple(input_shape)}")
    _C.adaptive_max_pool2d_backward(grad_output, indices, dx, num_threads=num_threads)
    return dx
