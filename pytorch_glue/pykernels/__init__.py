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

    # pooling

    # activations

    # softmax and losses
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "nll_loss", "nll_loss_backward", "cross_entropy", "cross_entropy_backward",

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


# --------------------------------------------------------------------- pooling


# ----------------------------------------------------------------- activations


# ---------------------------------------------------------- softmax and losses


def _softmax_dim(x: np.ndarray, dim: int, op: str) -> int:
    """dim in [-ndim, ndim) -> [0, ndim); a 0-d array counts as 1-d (as torch)."""
    nd = max(x.ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim!r} is out of range for a {x.ndim}-d array "
                         f"(expected an int in [{-nd}, {nd - 1}])")
    return int(dim) % nd


def _softmax_forward(log: bool, x, dim, out, num_threads):
    op = "pykernels.log_softmax" if log else "pykernels.softmax"
    x = _array(x, op, "x")
    d = _softmax_dim(x, dim, op)
    y = _output(out, x.shape, x, op)
    fn = _C.log_softmax_forward if log else _C.softmax_forward
    fn(d, x.reshape(1) if x.ndim == 0 else x, y.reshape(1) if y.ndim == 0 else y,
       num_threads=num_threads)
    return y


def _softmax_backward(log: bool, grad_output, y, dim, out, num_threads):
    op = "pykernels.log_softmax_backward" if log else "pykernels.softmax_backward"
    grad_output, y = _array(grad_output, op, "grad_output"), _array(y, op, "y")
    d = _softmax_dim(y, dim, op)
    dx = _output(out, y.shape, y, op)
    fn = _C.log_softmax_backward if log else _C.softmax_backward
    one = (lambda a: a.reshape(1) if a.ndim == 0 else a)
    fn(d, one(grad_output), one(y), one(dx), num_threads=num_threads)
    return dx


def softmax(x: np.ndarray, dim: int, *, out: np.ndarray | None = None,
            num_threads: int = 0) -> np.ndarray:
    """``exp(x - max) / sum(exp(x - max))`` along ``dim`` (negative dims count from the
    end); any shape, any strides. ``out=x`` is allowed (in place)."""
    return _softmax_forward(False, x, dim, out, num_threads)


def softmax_backward(grad_output: np.ndarray, y: np.ndarray, dim: int, *,
                     out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`softmax` from its OUTPUT ``y``:
    ``y * (grad_output - sum(grad_output * y, dim))``."""
    return _softmax_backward(False, grad_output, y, dim, out, num_threads)


def log_softmax(x: np.ndarray, dim: int, *, out: np.ndarray | None = None,
                num_threads: int = 0) -> np.ndarray:
    """``(x - max) - log(sum(exp(x - max)))`` along ``dim``; as :func:`softmax`."""
    return _softmax_forward(True, x, dim, out, num_threads)


def log_softmax_backward(grad_output: np.ndarray, y: np.ndarray, dim: int, *,
                         out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`log_softmax` from its OUTPUT ``y``:
    ``grad_output - exp(y) * sum(grad_output, dim)``."""
    return _softmax_backward(True, grad_output, y, dim, out, num_threads)


def _class_loss_outputs(input, target, reduction, op):
    code = _reduction_code(reduction, op)
    input, target = _array(input, op, "input"), _array(target, op, "target")
    shape = target.shape if code == _C.REDUCTION_NONE else ()
    return code, np.empty(shape, input.dtype), np.empty((), input.dtype)


def nll_loss(input: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
             ignore_index: int = -100, reduction: str = "mean", *, return_total_weight: bool = False,
             num_threads: int = 0):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d1..dk) or (C,) for
    class indices ``target`` (N, d1..dk) or () of dtype int32/int64, as torch's nll_loss.
    Returns the loss (target's shape for 'none', else 0-d), or ``(loss, total_weight)``
    when ``return_total_weight`` (what :func:`nll_loss_backward` needs for 'mean').
    A target outside [0, C) that is not ``ignore_index`` raises KernelError."""
    op = "pykernels.nll_loss"
    code, loss, tw = _class_loss_outputs(input, target, reduction, op)
    if weight is not None:
        _array(weight, op, "weight")
    _C.nll_loss_forward(code, ignore_index, 0.0, input, target, weight, loss, tw,
                        num_threads=num_threads)
    return (loss, tw) if return_total_weight else loss


def nll_loss_backward(grad_output: np.ndarray, input_shape, target: np.ndarray,
                      total_weight: np.ndarray, weight: np.ndarray | None = None,
                      ignore_index: int = -100, reduction: str = "mean", *,
                      dtype=None, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`nll_loss` w.r.t. input (of ``input_shape``, grad_output's dtype
    unless ``dtype``); ``total_weight`` is the forward's."""
    op = "pykernels.nll_loss_backward"
    code = _reduction_code(reduction, op)
    grad_output = _array(grad_output, op, "grad_output")
    di = np.empty(tuple(input_shape), dtype or grad_output.dtype)
    _C.nll_loss_backward(code, ignore_index, 0.0, grad_output, _array(target, op, "target"),
                         weight, _array(total_weight, op, "total_weight"), di,
                         num_threads=num_threads)
    return di


def cross_entropy(input: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0, *, return_total_weight: bool = False,
                  num_threads: int = 0):
    """Cross-entropy of logits ``input`` (N, C, d1..dk) or (C,) with class indices
    ``target`` (int32/int64), torch's weight / ignore_index / reduction / label_smoothing
    semantics (log_softmax and nll fused; no (N, C) intermediate). Returns the loss, or
    ``(loss, total_weight)`` when ``return_total_weight``."""
    op = "pykernels.cross_entropy"
    code, loss, tw = _class_loss_outputs(input, target, reduction, op)
    if weight is not None:
        _array(weight, op, "weight")
    _C.cross_entropy_forward(code, ignore_index, float(label_smoothing), input, target, weight,
                             loss, tw, num_threads=num_threads)
    return (loss, tw) if return_total_weight else loss


def cross_entropy_backward(grad_output: np.ndarray, input: np.ndarray, target: np.ndarray,
                           total_weight: np.ndarray, weight: np.ndarray | None = None,
                           ignore_index: int = -100, reduction: str = "mean",
                           label_smoothing: float = 0.0, *,
                           num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`cross_entropy` w.r.t. the logits (input's shape)."""
    op = "pykernels.cross_entropy_backward"
    code = _reduction_code(reduction, op)
    grad_output, input = _array(grad_output, op, "grad_output"), _array(input, op, "input")
    di = np.empty(input.shape, input.dtype)
    _C.cross_entropy_backward(code, ignore_index, float(label_smoothing), grad_output, input,
                              _array(target, op, "target"), weight,
                              _array(total_weight, op, "total_weight"), di,
                              num_threads=num_threads)
    return di


# --------------------------------------------------------------------- dropout
