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

``import pykernels`` does not import torch or jax; ``import pykernels.torch`` and
``import pykernels.jax`` do.
"""
from __future__ import annotations

import os as _os
import sys as _sys

import numpy as np


def _name_pip_mkl() -> None:
    """Point libkernels' BLAS loader at pip's MKL (``pip install mkl``, or the
    ``pykernels[mkl]`` extra), which lives in ``<prefix>/lib`` where dlopen does
    not look. The loader reads KN_MKL_LIBRARY at the first GEMM and uses MKL on
    Intel CPUs (kernels/internal/blas.cpp); a value the user set is kept."""
    if "KN_MKL_LIBRARY" in _os.environ:
        return
    for soname in ("libmkl_rt.so.3", "libmkl_rt.so.2"):  # MKL 2025+, 2024
        path = _os.path.join(_sys.prefix, "lib", soname)
        if _os.path.exists(path):
            _os.environ["KN_MKL_LIBRARY"] = path
            return


_name_pip_mkl()

if _os.environ.get("PYKERNELS_BUILD_DIR"):
    # The fast loop (make check): this source tree's Python with the _C of a CMake
    # build tree, so a C++ change needs no pip install.
    from ._dev import load_build_tree_module
    load_build_tree_module(_os.environ["PYKERNELS_BUILD_DIR"])
    load_build_tree_module(_os.environ["PYKERNELS_BUILD_DIR"], "_jax_ffi", required=False)

from . import _C
from ._C import KernelError, ShapeError, UnsupportedError
from ._arrays import _array, _output, _shape_error, _unary, _unary_backward  # noqa: F401

__version__ = _C.version_string()

__all__ = [
    "KernelError", "ShapeError", "UnsupportedError", "__version__",
    "abi_version", "has_cuda", "set_num_threads", "get_num_threads", "blas_info",
    "cpu_info", "cpu_info_fields",
    "linear", "linear_backward", "relu", "relu_backward", "mse_loss", "mse_loss_backward",
    # convolution
    "conv2d", "conv2d_backward",

    # pooling
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",

    # softmax and losses
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "nll_loss", "nll_loss_backward", "cross_entropy", "cross_entropy_backward",

    # dropout
    "dropout", "dropout_backward",
    # graph
    "csr_transpose", "gspmm", "gspmm_backward",
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
    """A one-line description of the CPU BLAS in use, MKL or OpenBLAS (loads it if needed;
    KN_BLAS=openblas|mkl overrides the choice, see docs/abi.md, "BLAS")."""
    return _C.blas_info()


def cpu_info() -> str:
    """The CPU and what this process's CPU dispatch chose (``kn_cpu_info``), as
    ``"key=value; key=value"``: ``cpu`` (the cpuid brand string), ``vendor``,
    ``family``, ``model``, ``arch``, ``isa``, ``l1d``/``l2``/``l3``, then each kernel
    family's run-time path (``elementwise``, ``softmax``, ``gemm_ladder``,
    ``sdpa_softmax``, ``conv2d_direct``) and ``blas`` (OpenBLAS's core type).
    Loads OpenBLAS if needed. :func:`cpu_info_fields` parses it."""
    return _C.cpu_info()


def cpu_info_fields(info: str | None = None) -> dict[str, str]:
    """:func:`cpu_info` (or the given string of that form) as a dict, in its order."""
    text = cpu_info() if info is None else info
    fields = {}
    for item in text.split(";"):
        key, sep, value = item.strip().partition("=")
        if sep and key:
            fields[key] = value.strip()
    return fields


# ---------------------------------------------------------------- helpers

_REDUCTIONS = {"none": _C.REDUCTION_NONE, "mean": _C.REDUCTION_MEAN, "sum": _C.REDUCTION_SUM}


def _reduction_code(reduction: str, op: str) -> int:
    """'none' | 'mean' | 'sum' -> the kn_reduction code (shared with pykernels.torch)."""
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(
            f"{op}: reduction must be one of 'none', 'mean', 'sum', got {reduction!r}") from None


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


def _conv2d_out_shape(x_shape, w_shape, stride, padding, dilation, op: str,
                      x_name: str = "x") -> tuple:
    """(N, O, Ho, Wo) of a conv2d: the one output-shape rule, shared by the NumPy API and
    the torch ops (their real kernel, fake and backward). ShapeError unless x and w are
    4-D; sizes that are not positive are clamped to 0 here and rejected by the library
    (with its message) when the kernel runs."""
    if len(x_shape) != 4:
        raise _shape_error(f"{op}: {x_name}: expected 4 dims (N, C, H, W), got shape "
                           f"{tuple(x_shape)}")
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

# Shared with pykernels.torch (ops/pool2d.py): parameter normalisation and the
# output size, as torch computes them, so both APIs raise the same errors.


def _pool_pair(v, op: str, name: str) -> tuple:
    """An int or a sequence of 1 or 2 ints -> (h, w), as torch's pooling accepts."""
    # The common cases first (a torch op's int[2] arrives as a list of 2 ints): by type
    # identity, so a bool (not an int here) takes the checks below. 4.8 -> 1.1 us for
    # the 4 pairs of a pooling call, paid twice per backward.
    tp = type(v)
    if tp is int:
        return v, v
    if (tp is list or tp is tuple) and len(v) == 2 and type(v[0]) is int and type(v[1]) is int:
        return v[0], v[1]
    if isinstance(v, bool):
        raise TypeError(f"{op}: {name}: expected an int or a pair of ints, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    try:
        t = tuple(v)
    except TypeError:
        raise TypeError(f"{op}: {name}: expected an int or a pair of ints, got {v!r}") from None
    if len(t) == 1:
        t = t * 2
    if len(t) != 2 or any(isinstance(a, bool) or not hasattr(a, "__index__") for a in t):
        raise TypeError(f"{op}: {name}: expected an int or a pair of ints, got {v!r}")
    return tuple(a if not isinstance(a, np.integer) else int(a) for a in t)


def _pool2d_params(op: str, kernel_size, stride, padding, dilation=1) -> tuple:
    """(kernel_size, stride, padding, dilation) as (h, w) pairs, checked as torch does:
    kernel_size, stride, dilation >= 1 and 0 <= padding <= kernel_size // 2 (ValueError).
    stride None (or empty) means kernel_size."""
    k = _pool_pair(kernel_size, op, "kernel_size")
    no_stride = stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0)
    s = k if no_stride else _pool_pair(stride, op, "stride")
    p, d = _pool_pair(padding, op, "padding"), _pool_pair(dilation, op, "dilation")
    for name, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if v[0] < 1 or v[1] < 1:
            raise ValueError(f"{op}: {name} must be greater than zero, got {v}")
    if not (0 <= p[0] <= k[0] // 2 and 0 <= p[1] <= k[1] // 2):
        raise ValueError(f"{op}: pad should be at most half of kernel size, but got padding={p} "
                         f"and kernel_size={k}")
    return k, s, p, d


def _pool2d_output_size(op: str, input_size, k, s, p, d, ceil_mode: bool) -> tuple:
    """(Ho, Wo) for the (H, W) input_size, as torch's pooling_output_shape; ShapeError
    (a ValueError) when either is < 1."""
    out = []
    for i in range(2):
        n = input_size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1 + (s[i] - 1 if ceil_mode else 0)
        o = n // s[i] + 1
        if ceil_mode and (o - 1) * s[i] >= input_size[i] + p[i]:
            o -= 1
        out.append(o)
    if out[0] < 1 or out[1] < 1:
        raise _shape_error(f"{op}: input size {tuple(input_size)} is too small for the pooling "
                           f"window: calculated output size {tuple(out)}")
    return tuple(out)


def _pool_input(x, op: str, name: str) -> np.ndarray:
    _array(x, op, name)
    if x.ndim != 4:
        raise _shape_error(f"{op}: {name}: expected (N, C, H, W), got shape {x.shape}")
    return x


def max_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, *, index_dtype=np.int64, num_threads: int = 0):
    """2-D max pooling as torch.nn.functional.max_pool2d(..., return_indices=True).

    x: (N, C, H, W) -> ``(y, indices)``, both (N, C, Ho, Wo); indices (int64, or int32 with
    ``index_dtype``) are flat positions h*W + w in x's (H, W) plane. kernel_size, stride,
    padding, dilation: an int or an (h, w) pair; stride None = kernel_size.
    """
    op = "pykernels.max_pool2d"
    x = _pool_input(x, op, "x")
    k, s, p, d = _pool2d_params(op, kernel_size, stride, padding, dilation)
    out = x.shape[:2] + _pool2d_output_size(op, x.shape[2:], k, s, p, d, ceil_mode)
    y, indices = np.empty(out, x.dtype), np.empty(out, index_dtype)
    _C.max_pool2d_forward(k, s, p, d, bool(ceil_mode), x, y, indices, num_threads=num_threads)
    return y, indices


def max_pool2d_backward(grad_output: np.ndarray, indices: np.ndarray, input_shape,
                        kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode: bool = False, *, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`max_pool2d`: grad_output, indices (N, C, Ho, Wo) -> grad_input of
    ``input_shape`` (N, C, H, W), grad_output summed where the indices point, 0 elsewhere."""
    op = "pykernels.max_pool2d_backward"
    grad_output = _pool_input(grad_output, op, "grad_output")
    _array(indices, op, "indices")
    k, s, p, d = _pool2d_params(op, kernel_size, stride, padding, dilation)
    dx = np.empty(tuple(input_shape), grad_output.dtype)
    if dx.ndim != 4:
        raise _shape_error(f"{op}: input_shape: expected (N, C, H, W), got {tuple(input_shape)}")
    _C.max_pool2d_backward(k, s, p, d, bool(ceil_mode), grad_output, indices, dx,
                           num_threads=num_threads)
    return dx


def _divisor(divisor_override, op: str) -> int:
    if divisor_override is None:
        return 0
    if isinstance(divisor_override, bool) or int(divisor_override) <= 0:
        raise ValueError(f"{op}: divisor_override must be a positive int or None, "
                         f"got {divisor_override!r}")
    return int(divisor_override)


def avg_pool2d(x: np.ndarray, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None, *,
               num_threads: int = 0) -> np.ndarray:
    """2-D average pooling as torch.nn.functional.avg_pool2d: x (N, C, H, W) -> (N, C, Ho, Wo)."""
    op = "pykernels.avg_pool2d"
    x = _pool_input(x, op, "x")
    k, s, p, d = _pool2d_params(op, kernel_size, stride, padding)
    div = _divisor(divisor_override, op)
    y = np.empty(x.shape[:2] + _pool2d_output_size(op, x.shape[2:], k, s, p, d, ceil_mode), x.dtype)
    _C.avg_pool2d_forward(k, s, p, bool(ceil_mode), bool(count_include_pad), div, x, y,
                          num_threads=num_threads)
    return y


def avg_pool2d_backward(grad_output: np.ndarray, input_shape, kernel_size, stride=None,
                        padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                        divisor_override=None, *, num_threads: int = 0) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: grad_output (N, C, Ho, Wo) -> grad_input of
    ``input_shape`` (N, C, H, W)."""
    op = "pykernels.avg_pool2d_backward"
    grad_output = _pool_input(grad_output, op, "grad_output")
    k, s, p, _ = _pool2d_params(op, kernel_size, stride, padding)
    div = _divisor(divisor_override, op)
    dx = np.empty(tuple(input_shape), grad_output.dtype)
    if dx.ndim != 4:
        raise _shape_error(f"{op}: input_shape: expected (N, C, H, W), got {tuple(input_shape)}")
    _C.avg_pool2d_backward(k, s, p, bool(ceil_mode), bool(count_include_pad), div, grad_output,
                           dx, num_threads=num_threads)
    return dx



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


def _dropout_p(p, op: str) -> float:
    """p as a float in [0, 1], else ValueError (torch's wording)."""
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return p


def dropout(x: np.ndarray, p: float = 0.5, seed: int = 0, *, out: np.ndarray | None = None,
            num_threads: int = 0):
    """Training-mode dropout: ``(y, mask)`` with ``mask`` (bool, x's shape) kept with
    probability ``1 - p`` and ``y = x * mask / (1 - p)`` (zeros times x for p = 1).

    The mask is a function of ``(seed, x.shape)`` only (Philox-4x32-10 on each element's
    row-major index): the same on any strides, thread count and device. ``out=x`` is
    allowed (in place).
    """
    op = "pykernels.dropout"
    p = _dropout_p(p, op)
    x = _array(x, op, "x")
    y = _output(out, x.shape, x, op)
    mask = np.empty(x.shape, dtype=np.bool_)
    _C.dropout_forward(p, int(seed), x, y, mask, num_threads=num_threads)
    return y, mask


def dropout_backward(grad_output: np.ndarray, mask: np.ndarray, p: float = 0.5, *,
                     out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """``grad_input = grad_output * mask / (1 - p)``; mask bool or uint8 of grad_output's shape."""
    op = "pykernels.dropout_backward"
    p = _dropout_p(p, op)
    grad_output, mask = _array(grad_output, op, "grad_output"), _array(mask, op, "mask")
    dx = _output(out, grad_output.shape, grad_output, op)
    _C.dropout_backward(p, grad_output, mask, dx, num_threads=num_threads)
    return dx


# --------------------------------------------------------------------- graph


# Shared with pykernels.torch (ops/gspmm.py, graph.py): the option names and their
# kn_gspmm_* codes, so both APIs accept the same names and raise the same errors.
_GSPMM_MESSAGES = {"copy_u": _C.GSPMM_COPY_U, "u_mul_e": _C.GSPMM_U_MUL_E}
_GSPMM_REDUCES = {"sum": _C.GSPMM_SUM, "mean": _C.GSPMM_MEAN, "max": _C.GSPMM_MAX,
                  "min": _C.GSPMM_MIN}


def _gspmm_codes(message: str, reduce: str, op: str) -> tuple:
    """('copy_u' | 'u_mul_e', 'sum' | 'mean' | 'max' | 'min') -> (message, reduce) codes;
    ValueError naming the accepted values otherwise."""
    try:
        m = _GSPMM_MESSAGES[message]
    except (KeyError, TypeError):
        raise ValueError(f"{op}: message must be one of 'copy_u', 'u_mul_e', "
                         f"got {message!r}") from None
    try:
        r = _GSPMM_REDUCES[reduce]
    except (KeyError, TypeError):
        raise ValueError(f"{op}: reduce must be one of 'sum', 'mean', 'max', 'min', "
                         f"got {reduce!r}") from None
    return m, r


def _gspmm_edge_values_rule(message: str, edge_values, op: str) -> None:
    """edge_values is required for 'u_mul_e' and must be None for 'copy_u' (ValueError)."""
    if message == "u_mul_e" and edge_values is None:
        raise ValueError(f"{op}: edge_values: required for message='u_mul_e'")
    if message == "copy_u" and edge_values is not None:
        raise ValueError(f"{op}: edge_values: must be None for message='copy_u' "
                         "(use message='u_mul_e')")


def _gspmm_num_dst(indptr_shape, op: str) -> int:
    """num_dst = len(indptr) - 1; ShapeError unless indptr is 1-D and non-empty."""
    if len(indptr_shape) != 1 or indptr_shape[0] < 1:
        raise _shape_error(f"{op}: indptr: expected shape (num_dst + 1,) with at least one "
                           f"element, got {tuple(indptr_shape)}")
    return int(indptr_shape[0]) - 1


def _gspmm_features(x_shape, op: str, name: str = "x") -> int:
    """F of a (rows, F) feature matrix; ShapeError unless 2-D."""
    if len(x_shape) != 2:
        raise _shape_error(f"{op}: {name}: expected 2 dims (nodes, features), got shape "
                           f"{tuple(x_shape)}")
    return int(x_shape[1])


def csr_transpose(indptr: np.ndarray, indices: np.ndarray, num_src: int, *,
                  num_threads: int = 0):
    """The transpose (CSC form) of the CSR graph ``(indptr, indices)`` whose sources are
    ``0 .. num_src - 1``: ``(t_indptr (num_src + 1,), t_indices (E,), t_edge_ids (E,))``,
    where ``t_indices`` holds the destination (row) of each edge, grouped by source, and
    ``t_edge_ids`` the position of that edge in ``indices``; within a source, edges keep
    their CSR order. All arrays share indptr's dtype (int32 or int64). An index outside
    ``[0, num_src)`` or a malformed indptr raises KernelError."""
    op = "pykernels.csr_transpose"
    indptr, indices = _array(indptr, op, "indptr"), _array(indices, op, "indices")
    if isinstance(num_src, bool) or not isinstance(num_src, (int, np.integer)) or num_src < 0:
        raise ValueError(f"{op}: num_src must be a non-negative int, got {num_src!r}")
    e = indices.shape[0] if indices.ndim == 1 else 0
    t_indptr = np.empty(int(num_src) + 1, indptr.dtype)
    t_indices, t_edge_ids = np.empty(e, indptr.dtype), np.empty(e, indptr.dtype)
    _C.csr_transpose(indptr, indices, t_indptr, t_indices, t_edge_ids, num_threads=num_threads)
    return t_indptr, t_indices, t_edge_ids


def gspmm(indptr: np.ndarray, indices: np.ndarray, x: np.ndarray, message: str = "copy_u",
          reduce: str = "sum", edge_values: np.ndarray | None = None, *,
          skip_index_check: bool = False, num_threads: int = 0):
    """Generalized sparse-dense matrix product over the CSR graph ``(indptr, indices)``
    (rows = destination nodes; ``indices[k]`` is the source of edge ``k``; int32 or int64,
    one dtype; duplicate edges count separately):

        y[v] = REDUCE over the edges k of row v of  x[indices[k]]          ('copy_u')
                                                    x[indices[k]] * edge_values[k]  ('u_mul_e')

    x: (num_src, F) float32/float64, edge_values: (E,) of x's dtype -> y: (num_dst, F) with
    num_dst = len(indptr) - 1. ``reduce``: 'sum', 'mean', 'max', 'min'; a row without edges
    gives 0. For 'max'/'min' the result is ``(y, arg)``, like :func:`max_pool2d` returns its
    indices: arg (num_dst, F) of indptr's dtype holds the edge position k that won each
    element (the first on ties; -1 in an empty row); :func:`gspmm_backward` takes it.

    The graph is checked in O(E) (KernelError on an index outside [0, num_src) or a bad
    indptr) unless ``skip_index_check`` (the caller vouches for it). Bad option names raise
    ValueError, shape mismatches ShapeError, unsupported dtypes UnsupportedError.
    """
    op = "pykernels.gspmm"
    m, r = _gspmm_codes(message, reduce, op)
    indptr, indices, x = (_array(indptr, op, "indptr"), _array(indices, op, "indices"),
                          _array(x, op, "x"))
    _gspmm_edge_values_rule(message, edge_values, op)
    if edge_values is not None:
        _array(edge_values, op, "edge_values")
    shape = (_gspmm_num_dst(indptr.shape, op), _gspmm_features(x.shape, op))
    y = np.empty(shape, x.dtype)
    arg = np.empty(shape, indptr.dtype) if r in (_C.GSPMM_MAX, _C.GSPMM_MIN) else None
    _C.gspmm_forward(m, r, int(bool(skip_index_check)), indptr, indices, edge_values, x, y, arg,
                     num_threads=num_threads)
    return y if arg is None else (y, arg)


def gspmm_backward(grad_output: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                   x: np.ndarray, message: str = "copy_u", reduce: str = "sum",
                   edge_values: np.ndarray | None = None, arg: np.ndarray | None = None, *,
                   transpose=None, need_x: bool = True, need_edge_values: bool | None = None,
                   skip_index_check: bool = False, num_threads: int = 0):
    """Gradients of :func:`gspmm` given ``grad_output = dL/dy`` (num_dst, F) ->
    ``(grad_x (num_src, F), grad_edge_values (E,))``, each None when not needed
    (``need_edge_values`` defaults to ``message == 'u_mul_e'``; it needs that message).

    x is the forward's input (its shape gives num_src; its values are read for
    grad_edge_values); arg the forward's arg for 'max'/'min'. ``transpose`` is
    :func:`csr_transpose`'s result for this graph, built here when grad_x is needed and it
    is None (pass it to reuse it across calls).
    """
    op = "pykernels.gspmm_backward"
    m, r = _gspmm_codes(message, reduce, op)
    grad_output = _array(grad_output, op, "grad_output")
    indptr, indices, x = (_array(indptr, op, "indptr"), _array(indices, op, "indices"),
                          _array(x, op, "x"))
    _gspmm_edge_values_rule(message, edge_values, op)
    if need_edge_values is None:
        need_edge_values = message == "u_mul_e"
    if need_edge_values and message != "u_mul_e":
        raise ValueError(f"{op}: need_edge_values: edge values have a gradient only for "
                         "message='u_mul_e'")
    if r in (_C.GSPMM_MAX, _C.GSPMM_MIN):
        if arg is None:
            raise ValueError(f"{op}: arg: required for reduce={reduce!r} (the forward's arg)")
        _array(arg, op, "arg")
    else:
        arg = None
    _gspmm_num_dst(indptr.shape, op)
    _gspmm_features(x.shape, op)
    dx = dedge = None
    t = (None, None, None)
    if need_x:
        if transpose is None:
            transpose = csr_transpose(indptr, indices, x.shape[0], num_threads=num_threads)
        t = tuple(_array(a, op, n) for a, n in
                  zip(transpose, ("t_indptr", "t_indices", "t_edge_ids")))
        dx = np.empty(x.shape, grad_output.dtype)
    if need_edge_values:
        dedge = np.empty(indices.shape[:1], grad_output.dtype)
    if dx is None and dedge is None:
        return None, None
    _C.gspmm_backward(m, r, int(bool(skip_index_check)), grad_output, indptr, indices, *t,
                      edge_values, x if need_edge_values else None, arg, dx, dedge,
                      num_threads=num_threads)
    return dx, dedge


# ------------------------------------------------------- per-op modules
# Operators added since the per-op layout live in pykernels/ops/<op>.py (one
# module each, found here, not listed): each module's __all__ is exported as
# pykernels.<name>.


from . import ops as _ops  # noqa: E402
from ._exports import export_op_modules as _export_op_modules  # noqa: E402

_export_op_modules(_ops, globals(), __all__, "pykernels")
