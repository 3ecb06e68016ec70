"""The custom_vjp shared by layer_norm and group_norm (private, not exported): their C
entry points have one signature,

    <op>_forward(x, weight|absent, bias|absent) -> y, mean, rstd
    <op>_backward(dy, x, weight|absent, mean, rstd) -> dx|absent, dweight|absent, dbias|absent

with the statistics (mean, rstd) saved by the forward for the backward. x's dim 0 is a
batch dim of the kernel (layer_norm's rows, group_norm's N), and so is the statistics'
dim 0: vmap folds the mapped axis into it, forward and backward (the backward when only
dx is wanted: dweight and dbias sum over the batch, so per-example ones run one call per
index).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .._ffi import call, fold_batch, like, shape_dtype


@functools.lru_cache(maxsize=None)
def norm_function(op: str, attrs_items: tuple, w_shape: tuple):
    """The custom_vjp function (x, weight, bias) -> y of kernels/<op>.h ("layer_norm" on
    x:(R, D), "group_norm" on x:(N, C, *)), for one set of attributes; w_shape is the
    weight's and bias's shape (whether they are given or not)."""
    attrs = dict(attrs_items)

    def stats_shape(x_shape):
        # layer_norm (one normalised dim): mean, rstd:(R,); group_norm: (N, G)
        return (x_shape[0],) if op == "layer_norm" else (x_shape[0], attrs["num_groups"])

    def forward(x, w, b):
        # x -> y (x's shape), mean, rstd (stats_shape); a list, as fold_batch returns it
        stats = shape_dtype(stats_shape(x.shape), x.dtype)
        return call(f"{op}_forward", [like(x), stats, stats], x, w, b, **attrs)

    def dx_only(dy, x, mean, rstd, w):
        return call(f"{op}_backward", [like(x), None, None], dy, x, w, mean, rstd, **attrs)[0]

    forward_v = fold_batch(forward, fold_in=(True, False, False), fold_out=(True, True, True))
    dx_only_v = fold_batch(dx_only, fold_in=(True, True, True, True, False), fold_out=(True,))

    @jax.custom_vjp
    def f(x, w, b):
        return forward_v(x, w, b)[0]

    def f_fwd(x, w, b):
        need = (x.perturbed, w is not None and w.perturbed, b is not None and b.perturbed)
        w = None if w is None else w.value
        y, mean, rstd = forward_v(x.value, w, None if b is None else b.value)
        return y, (x.value, w, mean, rstd, need)

    def f_bwd(res, dy):
        x, w, mean, rstd, need = res
        if isinstance(dy, jax.custom_derivatives.SymbolicZero):
            dy = jnp.zeros(dy.shape, dy.dtype)
        if need[0] and not need[1] and not need[2]:
            return dx_only_v(dy, x, mean, rstd, w), None, None
        dx, dw, db = call(f"{op}_backward",
                          [like(x) if need[0] else None,
                           shape_dtype(w_shape, dy.dtype) if need[1] else None,
                           shape_dtype(w_shape, dy.dtype) if need[2] else None],
                          dy, x, w, mean, rstd, **attrs)
        return dx, dw, db

    f.defvjp(f_fwd, f_bwd, symbolic_zeros=True)
    return f
