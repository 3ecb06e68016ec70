"""linear on jax.Arrays (targets: jax_ffi/linear.cpp):

    linear(x, w, b=None) -> x @ w.T + b      x:(..., in) w:(out, in) b:(out,) or None

torch's layout (w is (out, in)), as flax's ``Dense`` would be with a transposed
kernel; jax has no linear function of its own. Leading dims of x fold into the
kernel's N. Gradients for x, w and b (only those JAX asks for are computed: a
None output is a NULL pointer in kn_linear_backward). vmap: over x alone folds
into N (one GEMM); a mapped w or b runs one call per index.
"""
from __future__ import annotations

import functools

import jax
import numpy as np

from .._ffi import call, check_float, check_ndim, fold_batch, shape_dtype

__all__ = ["linear"]


def _forward(x, w, b):
    # x:(N,in) w:(out,in) b:(out,)|None -> y:(N,out)
    return call("linear_forward", shape_dtype((x.shape[0], w.shape[0]), x.dtype), x, w, b)


def _backward(dy, x, w, need_b):
    # dy:(N,out) -> dx:(N,in), dw:(out,in), db:(out,)|None
    dx, dw, db = call("linear_backward",
                      [shape_dtype(x.shape, x.dtype), shape_dtype(w.shape, w.dtype),
                       shape_dtype((w.shape[0],), w.dtype) if need_b else None], dy, x, w)
    return dx, dw, db


_forward_v = fold_batch(_forward, fold_in=(True, False, False), fold_out=(True,))


@jax.custom_vjp
def _linear2d(x, w, b):
    return _forward_v(x, w, b)


def _linear2d_fwd(x, w, b):
    return _forward_v(x, w, b), (x, w, b is not None)


def _linear2d_bwd(res, dy):
    x, w, has_b = res
    dx, dw, db = _backward(dy, x, w, has_b)
    return dx, dw, (db if has_b else None)


_linear2d.defvjp(_linear2d_fwd, _linear2d_bwd)


def linear(x, w, b=None):
    """``y = x @ w.T + b``: x:(..., in), w:(out, in), b:(out,) or None -> y:(..., out)."""
    check_float("linear", x=x, w=w, b=b)
    check_ndim("linear", "w", w, 2)
    if b is not None:
        check_ndim("linear", "b", b, 1)
    if x.ndim < 1:
        raise ValueError(f"pykernels.jax.linear: x must have at least 1 dim, got shape {tuple(x.shape)}")
    if x.shape[-1] != w.shape[1]:
        raise ValueError(f"pykernels.jax.linear: x has {x.shape[-1]} features (shape {tuple(x.shape)}) "
                         f"but w is {tuple(w.shape)} (out, in)")
    if b is not None and b.shape[0] != w.shape[0]:
        raise ValueError(f"pykernels.jax.linear: b has shape {tuple(b.shape)}, expected ({w.shape[0]},)")
    lead = x.shape[:-1]
    n = int(np.prod(lead, dtype=np.int64))
    y = _linear2d(x.reshape((n, x.shape[-1])), w, b)
    return y.reshape(lead + (w.shape[0],))
