"""conv2d on jax.Arrays (targets: jax_ffi/conv2d.cpp, kernels/conv2d.h):

    conv2d(x, w, b=None, window_strides=(1, 1), padding=0, rhs_dilation=(1, 1),
           feature_group_count=1) -> y
        x:(N,C,H,W) w:(O,C/feature_group_count,kH,kW) b:(O,) or None -> y:(N,O,Ho,Wo)
        Ho = (H + 2 pad_h - rhs_dilation[0] (kH - 1) - 1) // window_strides[0] + 1  (Wo alike)

``jax.lax.conv_general_dilated`` with its default dimension numbers (NCHW input, OIHW
weight, NCHW output) and its argument names, plus a bias (added per output channel).
window_strides and rhs_dilation: an int or an (h, w) pair. padding: an int, an (h, w)
pair (torch's form), ((pt, pb), (pl, pr)) (lax's form), "VALID", or "SAME" /
"SAME_LOWER" (lax's). The kernel pads both sides of a dim equally, so an asymmetric
padding (pt != pb, or a "SAME" that needs an odd total) is a ValueError: pad x with
jnp.pad first. Departures from lax: no lhs_dilation (transposed convolution),
dimension_numbers, precision or preferred_element_type; the bias argument.

Gradients for x, w and b, computing only those JAX asks for (custom_vjp with symbolic
zeros: an input that is not differentiated gets no kernel work, and x / w are kept
for the backward only when the other's gradient needs them).
vmap: over x alone folds into N (one kernel call on (B*N,C,H,W)); a mapped w or b runs
one call per index (sequential). The backward folds too when only dx is needed.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, check_ndim, fold_batch, shape_dtype
from ._spatial import pair, symmetric_padding

__all__ = ["conv2d"]


def _out_hw(hw, khw, attrs):
    s, p, d = (attrs["stride_h"], attrs["stride_w"]), (attrs["pad_h"], attrs["pad_w"]), \
        (attrs["dil_h"], attrs["dil_w"])
    return tuple((hw[i] + 2 * p[i] - d[i] * (khw[i] - 1) - 1) // s[i] + 1 for i in range(2))


@functools.lru_cache(maxsize=None)
def _conv(attrs_items: tuple, x_shape: tuple, w_shape: tuple):
    """The custom_vjp function (x, w, b) -> y for one set of attributes and (unbatched)
    shapes; cached so that jit sees the same function each time."""
    attrs = dict(attrs_items)
    ho, wo = _out_hw(x_shape[2:], w_shape[2:], attrs)

    def forward(x, w, b):
        # x:(N,C,H,W) w:(O,C/g,kH,kW) b:(O,)|None -> y:(N,O,Ho,Wo); N from x (folded under vmap)
        return call("conv2d_forward", shape_dtype((x.shape[0], w.shape[0], ho, wo), x.dtype),
                    x, w, b, **attrs)

    def dx_only(dy, w):
        # dy:(N,O,Ho,Wo) -> dx:(N,C,H,W): per example, so it folds under vmap
        return call("conv2d_backward", [shape_dtype((dy.shape[0],) + x_shape[1:], dy.dtype), None, None],
                    dy, None, w, **attrs)[0]

    forward_v = fold_batch(forward, fold_in=(True, False, False), fold_out=(True,))
    dx_only_v = fold_batch(dx_only, fold_in=(True, False), fold_out=(True,))

    @jax.custom_vjp
    def f(x, w, b):
        return forward_v(x, w, b)

    def f_fwd(x, w, b):
        need = (x.perturbed, w.perturbed, b is not None and b.perturbed)
        y = forward_v(x.value, w.value, None if b is None else b.value)
        # x is needed for dw only, w for dx only
        return y, (x.value if need[1] else None, w.value if need[0] else None, need)

    def f_bwd(res, dy):
        x, w, need = res
        if isinstance(dy, jax.custom_derivatives.SymbolicZero):
            dy = jnp.zeros(dy.shape, dy.dtype)
        if need[0] and not need[1] and not need[2]:
            return dx_only_v(dy, w), None, None
        dx, dw, db = call("conv2d_backward",
                          [shape_dtype(x_shape, dy.dtype) if need[0] else None,
                           shape_dtype(w_shape, dy.dtype) if need[1] else None,
                           shape_dtype((w_shape[0],), dy.dtype) if need[2] else None],
                          dy, x, w, **attrs)
        return dx, dw, db

    f.defvjp(f_fwd, f_bwd, symbolic_zeros=True)
    return f


def conv2d(x, w, b=None, window_strides=(1, 1), padding=0, rhs_dilation=(1, 1),
           feature_group_count=1):
    """2-D convolution (cross-correlation, as jax.lax.conv_general_dilated with NCHW/OIHW)
    plus an optional bias: x:(N,C,H,W), w:(O,C/feature_group_count,kH,kW), b:(O,) or None
    -> y:(N,O,Ho,Wo). See the module docstring for padding."""
    op = "conv2d"
    check_float(op, x=x, w=w, b=b)
    check_ndim(op, "x", x, 4)
    check_ndim(op, "w", w, 4)
    strides = pair(op, "window_strides", window_strides, 1)
    dilation = pair(op, "rhs_dilation", rhs_dilation, 1)
    if isinstance(feature_group_count, (bool, np.bool_)) \
            or not isinstance(feature_group_count, (int, np.integer)) or feature_group_count < 1:
        raise ValueError(f"pykernels.jax.conv2d: feature_group_count must be an int >= 1, "
                         f"got {feature_group_count!r}")
    groups = int(feature_group_count)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if kh < 1 or kw < 1:
        raise ValueError(f"pykernels.jax.conv2d: w has an empty window: shape {tuple(w.shape)}")
    if c % groups or o % groups or cg * groups != c:
        raise ValueError(f"pykernels.jax.conv2d: x has {c} channels and w is {tuple(w.shape)} "
                         f"(O, C/feature_group_count, kH, kW) with feature_group_count={groups}: "
                         "both channel counts must be divisible by it and w.shape[1] must be "
                         "C / feature_group_count")
    if b is not None:
        check_ndim(op, "b", b, 1)
        if b.shape[0] != o:
            raise ValueError(f"pykernels.jax.conv2d: b has shape {tuple(b.shape)}, expected ({o},)")
    pad = symmetric_padding(op, padding, (h, wd), (kh, kw), strides, dilation)
    attrs = dict(stride_h=strides[0], stride_w=strides[1], pad_h=pad[0], pad_w=pad[1],
                 dil_h=dilation[0], dil_w=dilation[1], groups=groups)
    ho, wo = _out_hw((h, wd), (kh, kw), attrs)
    if ho < 1 or wo < 1:
        raise ValueError(f"pykernels.jax.conv2d: the window {(kh, kw)} with rhs_dilation "
                         f"{dilation} is larger than the padded input {(h + 2 * pad[0], wd + 2 * pad[1])}"
                         f": output size {(ho, wo)}")
    f = _conv(tuple(attrs.items()), tuple(x.shape), tuple(w.shape))
    return f(x, w, b)
