"""pykernels: libkernels on NumPy arrays (and, in ``pykernels.torch``, on torch tensors).

The NumPy API below takes ``numpy.ndarray`` arguments of dtype float32 or
float64 (all arrays of a call share one dtype), with any strides: transposed,
sliced and negatively strided views are passed to the kernels as they are,
without copies. Each function returns new arrays, or writes into ``out=`` (a
writeable array of the result's shape and dtype) and returns it. ``num_threads``
(0 = the library default, see :func:`set_num_threads`) bounds the CPU threads
of one call.

Errors: a failing kernel call raises :class:`KernelError` (a RuntimeError)
with ``.status`` (e.g. ``"KN_ERR_INVALID_ARGUMENT"``) and ``.message``.
Shape mismatches raise :class:`ShapeError` (a KernelError and a ValueError),
dtypes other than float32/float64 :class:`UnsupportedError` (a KernelError and
a TypeError); a non-array argument or a NumPy dtype libkernels has no code for
raises TypeError.

``import pykernels`` does not import torch; ``import pykernels.torch`` does.
"""
from __future__ import annotations

import numpy as np

from . import _C
from ._C import KernelError, ShapeError, UnsupportedError

__version__ = _C.version_string()

__all__ = [
    "KernelError", "ShapeError", "UnsupportedError", "__version__",
    "abi_version", "has_cuda", "set_num_threads", "get_num_threads", "blas_info",
    "linear", "linear_backward", "relu", "relu_backward", "mse_loss", "mse_loss_backward",
    # convolution
    "conv2d", "conv2d_backward",

    # pooling

    # activations

    # softmax and losses

    # dropout

]

# ------------------------------------------------------------------ library


def abi_version() -> tuple[int, int]:
    """The loaded library's ABI version as ``(major, minor)``."""
    v = _C.abi_version()
    return v >> 16, v & 0xFFFF


def has_cuda() -> bool:
    """True if this libkernels build contains the CUDA kernels."""
    return _C.has_cuda()


def set_num_threads(n: int) -> None:
    """Set the library's default CPU thread count (``n >= 1``; 0 restores the OpenMP default)."""
    _C.set_num_threads(n)


def get_num_threads() -> int:
    """The library's default CPU thread count (what ``num_threads=0`` means)."""
    return _C.get_num_threads()


def blas_info() -> str:
    """A one-line description of the CPU BLAS in use (loads OpenBLAS if needed)."""
    return _C.blas_info()


# ---------------------------------------------------------------- helpers

_REDUCTIONS = {"none": _C.REDUCTION_NONE, "mean": _C.REDUCTION_MEAN, "sum": _C.REDUCTION_SUM}


def _reduction_code(reduction: str, op: str) -> int:
    """'none' | 'mean' | 'sum' -> the kn_reduction code (shared with pykernels.torch)."""
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(
            f"{op}: reduction must be one of 'none', 'mean', 'sum', got {reduction!r}") from None


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


def _rows(a: np.ndarray, op: str, name: str) -> np.ndarray:
    """View (*, k) as (M, k) for the 2-D linear kernels (a view whenever NumPy can make one)."""
    if a.ndim == 2:
        return a
    if a.ndim == 0:
        raise _shape_error(f"{op}: {name}: expected shape (*, features), got a 0-d array")
    return a.reshape(-1, a.shape[-1])


def _write_rows(out: np.ndarray, compute) -> None:
    """Run ``compute(out2d)`` with ``out`` viewed as 2-D (*, k) -> (M, k); only when
    ``out``'s strides admit no such view does the result go through a temporary."""
    view = out if out.ndim == 2 else out.reshape(-1, out.shape[-1])
    compute(view)
    if view is not out and out.size and not np.shares_memory(view, out):
        np.copyto(out, view.reshape(out.shape))


# -------------------------------------------------------------- operators


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, *,
           out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``y = x @ weight.T + bias``.

    x: (*, in), weight: (out, in), bias: (out,) or None -> y: (*, out).
    """
    op = "pykernels.linear"
    x, weight = _array(x, op, "x"), _array(weight, op, "weight")
    if bias is not None:
        _array(bias, op, "bias")
    x2 = _rows(x, op, "x")
    out_features = weight.shape[0] if weight.ndim >= 1 else 0
    y = _output(out, x.shape[:-1] + (out_features,), x, op)
    _write_rows(y, lambda y2: _C.linear_forward(x2, weight, bias, y2, num_threads=num_threads))
    return y


def linear_backward(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, *,
                    need_input: bool = True, need_weight: bool = True, need_bias: bool = True,
                    num_threads: int = 0):
    """Gradients of :func:`linear` given ``grad_output = dL/dy``.

    grad_output: (*, out), x: (*, in), weight: (out, in) ->
    ``(grad_input (*, in), grad_weight (out, in), grad_bias (out,))``, each None when its
    ``need_*`` is False.
    """
    op = "pykernels.linear_backward"
    grad_output, x = _array(grad_output, op, "grad_output"), _array(x, op, "x")
    weight = _array(weight, op, "weight")
    dy2, x2 = _rows(grad_output, op, "grad_output"), _rows(x, op, "x")
    dtype = grad_output.dtype
    dx = np.empty(x.shape, dtype) if need_input else None
    dw = np.empty(weight.shape, dtype) if need_weight else None
    db = np.empty(weight.shape[:1], dtype) if need_bias else None
    dx2 = None if dx is None else _rows(dx, op, "grad_input")  # a view: dx is contiguous
    _C.linear_backward(dy2, x2, weight, dx2, dw, db, num_threads=num_threads)
    return dx, dw, db


def relu(x: np.ndarray, *, out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``y = max(x, 0)`` element-wise; any shape. ``out=x`` is allowed (in place)."""
    op = "pykernels.relu"
    x = _array(x, op, "x")
    y = _output(out, x.shape, x, op)
    _C.relu_forward(x, y, num_threads=num_threads)
    return y


def relu_backward(grad_output: np.ndarray, x: np.ndarray, *, out: np.ndarray | None = None,
                  num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * (x > 0)``; grad_output, x, grad_input of one shape."""
    op = "pykernels.relu_backward"
    grad_output, x = _array(grad_output, op, "grad_output"), _array(x, op, "x")
    dx = _output(out, grad_output.shape, grad_output, op)
    _C.relu_backward(grad_output, x, dx, num_threads=num_threads)
    return dx


def mse_loss(input: np.ndarray, target: np.ndarray, reduction: str = "mean", *,
             out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """Mean squared error ``(input - target)**2`` reduced by ``reduction``.

    input, target: same shape (no broadcasting) -> input's shape for ``'none'``,
    a 0-d array for ``'mean'`` and ``'sum'``.
    """
    op = "pykernels.mse_loss"
    code = _reduction_code(reduction, op)
    input, target = _array(input, op, "input"), _array(target, op, "target")
    loss = _output(out, input.shape if code == _C.REDUCTION_NONE else (), input, op)
    _C.mse_loss_forward(code, input, target, loss, num_threads=num_threads)
    return loss


def mse_loss_backward(grad_output: np.ndarray, input: np.ndarray, target: np.ndarray,
                      reduction: str = "mean", *, need_input: bool = True,
                      need_target: bool = False, num_threads: int = 0):
    """Gradients of :func:`mse_loss` given ``grad_output`` (input's shape for ``'none'``,
    0-d otherwise) -> ``(grad_input, grad_target)``, each of input's shape, or None when
    its ``need_*`` is False.
    """
    op = "pykernels.mse_loss_backward"
    code = _reduction_code(reduction, op)
    grad_output = _array(grad_output, op, "grad_output")
    input, target = _array(input, op, "input"), _array(target, op, "target")
    di = np.empty(input.shape, input.dtype) if need_input else None
    dt = np.empty(input.shape, input.dtype) if need_target else None
    _C.mse_loss_backward(code, grad_output, input, target, di, dt, num_threads=num_threads)
    return di, dt

# ----------------------------------------------------------------- convolution


def _pair(v, op: str, name: str) -> tuple:
    """An int or a pair of ints -> (h, w) (shared with pykernels.torch's conv2d)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v), int(v)
    try:
        items = tuple(v)
    except TypeError:
        items = None
    if (items is None or len(items) != 2
            or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in items)):
        raise TypeError(f"{op}: {name}: expected an int or a pair of ints, got {v!r}")
    return int(items[0]), int(items[1])


def _conv2d_out_size(in_size: int, k: int, stride: int, padding: int, dilation: int) -> int:
    """floor((in + 2 padding - dilation (k - 1) - 1) / stride) + 1 (as torch); 0 for a
    stride below 1 (which the library then rejects with its message)."""
    if stride < 1:
        return 0
    return (in_size + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def _conv2d_args(stride, padding, dilation, groups, op: str):
    """Normalised (stride, padding, dilation, groups); padding may be 'valid' (= 0)."""
    if isinstance(padding, str):
        if padding != "valid":
            raise ValueError(f"{op}: padding: expected an int, a pair of ints or 'valid', "
                             f"got {padding!r}")
        padding = 0
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups: expected an int, got {groups!r}")
    return (_pair(stride, op, "stride"), _pair(padding, op, "padding"),
            _pair(dilation, op, "dilation"), int(groups))


def _conv2d_out_shape(x_shape, w_shape, stride, padding, dilation, op: str) -> tuple:
    """(N, O, Ho, Wo) of a conv2d; ShapeError unless x and w are 4-D. Sizes that are not
    positive are left to the library to reject (with its message)."""
    if len(x_shape) != 4:
        raise _shape_error(f"{op}: x: expected 4 dims (N, C, H, W), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise _shape_error(f"{op}: weight: expected 4 dims (O, C/groups, kH, kW), got shape "
                           f"{tuple(w_shape)}")
    ho = _conv2d_out_size(x_shape[2], w_shape[2], stride[0], padding[0], dilation[0])
    wo = _conv2d_out_size(x_shape[3], w_shape[3], stride[1], padding[1], dilation[1])
    return x_shape[0], w_shape[0], max(ho, 0), max(wo, 0)


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride=1,
           padding=0, dilation=1, groups: int = 1, *, out: np.ndarray | None = None,
           num_threads: int = 0) -> np.ndarray:
    """2-D convolution (cross-correlation) with zero padding, as torch.nn.functional.conv2d.

    x: (N, C, H, W), weight: (O, C/groups, kH, kW), bias: (O,) or None ->
    y: (N, O, Ho, Wo) with Ho = (H + 2 padding[0] - dilation[0] (kH - 1) - 1) // stride[0] + 1
    (Wo alike). stride, padding, dilation: an int or an (h, w) pair; padding may be 'valid'.
    """
    op = "pykernels.conv2d"
    x, weight = _array(x, op, "x"), _array(weight, op, "weight")
    if bias is not None:
        _array(bias, op, "bias")
    st, pad, dil, g = _conv2d_args(stride, padding, dilation, groups, op)
    y = _output(out, _conv2d_out_shape(x.shape, weight.shape, st, pad, dil, op), x, op)
    _C.conv2d_forward(st, pad, dil, g, x, weight, bias, y, num_threads=num_threads)
    return y


def conv2d_backward(grad_output: np.ndarray, x: np.ndarray, weight: np.ndarray, stride=1,
                    padding=0, dilation=1, groups: int = 1, *, need_input: bool = True,
                    need_weight: bool = True, need_bias: bool = True, num_threads: int = 0):
    """Gradients of :func:`conv2d` given ``grad_output = dL/dy``: (N, O, Ho, Wo) ->
    ``(grad_input (N, C, H, W), grad_weight (O, C/groups, kH, kW), grad_bias (O,))``, each
    None when its ``need_*`` is False.
    """
    op = "pykernels.conv2d_backward"
    grad_output, x = _array(grad_output, op, "grad_output"), _array(x, op, "x")
    weight = _array(weight, op, "weight")
    st, pad, dil, g = _conv2d_args(stride, padding, dilation, groups, op)
    dtype = grad_output.dtype
    dx = np.empty(x.shape, dtype) if need_input else None
    dw = np.empty(weight.shape, dtype) if need_weight else None
    db = np.empty(weight.shape[:1], dtype) if need_bias else None
    _C.conv2d_backward(st, pad, dil, g, grad_output, x, weight, dx, dw, db,
                       num_threads=num_threads)
    return dx, dw, db



# --------------------------------------------------------------------- pooling


# ----------------------------------------------------------------- activations


# ---------------------------------------------------------- softmax and losses


# --------------------------------------------------------------------- dropout
