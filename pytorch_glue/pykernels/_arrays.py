"""Array helpers shared by every NumPy function of pykernels (pykernels/__init__.py
and the per-op modules pykernels/ops/<op>.py): argument checks, output allocation,
and the one call shape of element-wise ops."""
from __future__ import annotations

import numpy as np

from ._C import ShapeError


def _array(a, op: str, name: str) -> np.ndarray:
    """Check that ``a`` is an ndarray (never converted: that would hide a copy)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name}: expected a numpy.ndarray, got {type(a).__name__}")
    return a


def _shape_error(message: str) -> ShapeError:
    """A ShapeError raised by the Python layer, with the attributes the library's have."""
    e = ShapeError(message)
    e.status, e.message = "KN_ERR_SHAPE_MISMATCH", message
    return e


def _output(out, shape: tuple, like: np.ndarray, op: str, name: str = "out") -> np.ndarray:
    """The output array: ``out`` checked against ``shape``/dtype, or a new empty array."""
    if out is None:
        return np.empty(shape, dtype=like.dtype)
    _array(out, op, name)
    if out.shape != tuple(shape):
        raise _shape_error(f"{op}: {name}: expected shape {tuple(shape)}, got {out.shape}")
    if out.dtype != like.dtype:
        raise TypeError(f"{op}: {name}: expected dtype {like.dtype}, got {out.dtype}")
    return out


def _unary(fn, op: str, x, out, num_threads: int, *leading) -> np.ndarray:
    x = _array(x, op, "x")
    y = _output(out, x.shape, x, op)
    fn(*leading, x, y, num_threads=num_threads)
    return y


def _unary_backward(fn, op: str, grad_output, saved, saved_name: str, out, num_threads: int,
                    *leading) -> np.ndarray:
    grad_output = _array(grad_output, op, "grad_output")
    saved = _array(saved, op, saved_name)
    dx = _output(out, grad_output.shape, grad_output, op)
    fn(*leading, grad_output, saved, dx, num_threads=num_threads)
    return dx
