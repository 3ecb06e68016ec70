"""2-D max and average pooling on jax.Arrays (targets: jax_ffi/pool2d.cpp, kernels/pool2d.h):

    max_pool2d(x, window_shape, strides=None, padding="VALID", dilation=1, ceil_mode=False)
    avg_pool2d(x, window_shape, strides=None, padding="VALID", ceil_mode=False,
               count_include_pad=True, divisor_override=None)
        x:(N,C,H,W) -> y:(N,C,Ho,Wo)
        Ho = floor((H + 2 pad_h - dilation (kh - 1) - 1 [+ stride - 1 with ceil_mode]) / stride) + 1
             (with ceil_mode, less one when the last window would start past H + pad_h: torch's rule)

flax.linen.max_pool / avg_pool's argument names (window_shape, strides defaulting to
window_shape, padding, count_include_pad defaulting to True) on torch's NCHW layout (flax
pools NHWC), plus the kernels' options dilation (max only), ceil_mode and divisor_override
(avg only; a positive int replaces the divisor), as torch.nn.functional's. window_shape,
strides, dilation: an int or an (h, w) pair. padding: an int, an (h, w) pair, ((pt, pb),
(pl, pr)) with pt == pb and pl == pr, "VALID", or "SAME" where it splits evenly; at most
half the window (torch's limit); max pooling pads with -inf, average pooling with zeros.

max_pool2d keeps only the argmax indices (int32 flat h*W + w, from the forward kernel)
for its backward, which scatters dy to them (the first maximum of a window gets the
gradient, as torch; jax.lax.reduce_window's gradient may pick another one on ties).
avg_pool2d's backward needs no saved array.
vmap: both fold the mapped axis into N (one kernel call), forward and backward.
"""
from __future__ import annotations

import functools

import jax
import numpy as np

from ... import _pool2d_output_size
from .._ffi import call, check_float, check_ndim, fold_batch, shape_dtype
from ._spatial import pair, symmetric_padding

__all__ = ["max_pool2d", "avg_pool2d"]

_INT32_MAX = 2**31 - 1


def _params(op, x, window_shape, strides, padding, dilation, ceil_mode):
    """Checked attributes (k, s, p, d as (h, w) pairs) and the output size (Ho, Wo)."""
    check_float(op, x=x)
    check_ndim(op, "x", x, 4)
    k = pair(op, "window_shape", window_shape, 1)
    s = k if strides is None else pair(op, "strides", strides, 1)
    d = pair(op, "dilation", dilation, 1)
    p = symmetric_padding(op, padding, x.shape[2:], k, s, d)
    if not (p[0] <= k[0] // 2 and p[1] <= k[1] // 2):
        raise ValueError(f"pykernels.jax.{op}: padding {p} is more than half the window {k} "
                         "(the kernels' limit, as torch's)")
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"pykernels.jax.{op}: ceil_mode must be a bool, got {ceil_mode!r}")
    out = _pool2d_output_size(f"pykernels.jax.{op}", x.shape[2:], k, s, p, d, bool(ceil_mode))
    attrs = dict(k_h=k[0], k_w=k[1], stride_h=s[0], stride_w=s[1], pad_h=p[0], pad_w=p[1],
                 ceil_mode=bool(ceil_mode))
    return attrs, d, out


# ------------------------------------------------------------------ max


@functools.lru_cache(maxsize=None)
def _max(attrs_items: tuple, hw: tuple, out_hw: tuple):
    """The custom_vjp function x -> y for one set of attributes and (H, W)."""
    attrs = dict(attrs_items)
    index_dtype = np.int32 if hw[0] * hw[1] <= _INT32_MAX else np.int64

    def forward(x):
        # x:(N,C,H,W) -> y:(N,C,Ho,Wo), indices:(N,C,Ho,Wo) (flat h*W + w)
        out = x.shape[:2] + out_hw
        # a list: what fold_batch's rule returns for a multi-result op
        return call("max_pool2d_forward", [shape_dtype(out, x.dtype), shape_dtype(out, index_dtype)],
                    x, **attrs)

    def backward(dy, indices):
        # dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W)
        return call("max_pool2d_backward", shape_dtype(dy.shape[:2] + hw, dy.dtype), dy, indices, **attrs)

    forward_v = fold_batch(forward, fold_in=(True,), fold_out=(True, True))
    backward_v = fold_batch(backward, fold_in=(True, True), fold_out=(True,))

    @jax.custom_vjp
    def f(x):
        return forward_v(x)[0]

    def f_fwd(x):
        y, indices = forward_v(x)
        return y, indices

    def f_bwd(indices, dy):
        return (backward_v(dy, indices),)

    f.defvjp(f_fwd, f_bwd)
    return f


def max_pool2d(x, window_shape, strides=None, padding="VALID", dilation=1, ceil_mode=False):
    """Window maxima: x:(N,C,H,W) -> (N,C,Ho,Wo). See the module docstring."""
    attrs, d, out = _params("max_pool2d", x, window_shape, strides, padding, dilation, ceil_mode)
    attrs.update(dil_h=d[0], dil_w=d[1])
    return _max(tuple(attrs.items()), tuple(x.shape[2:]), out)(x)


# ------------------------------------------------------------------ avg


@functools.lru_cache(maxsize=None)
def _avg(attrs_items: tuple, hw: tuple, out_hw: tuple):
    """The custom_vjp function x -> y for one set of attributes and (H, W)."""
    attrs = dict(attrs_items)

    def forward(x):
        # x:(N,C,H,W) -> y:(N,C,Ho,Wo)
        return call("avg_pool2d_forward", shape_dtype(x.shape[:2] + out_hw, x.dtype), x, **attrs)

    def backward(dy):
        # dy:(N,C,Ho,Wo) -> dx:(N,C,H,W)
        return call("avg_pool2d_backward", shape_dtype(dy.shape[:2] + hw, dy.dtype), dy, **attrs)

    forward_v = fold_batch(forward, fold_in=(True,), fold_out=(True,))
    backward_v = fold_batch(backward, fold_in=(True,), fold_out=(True,))

    @jax.custom_vjp
    def f(x):
        return forward_v(x)

    def f_fwd(x):
        return forward_v(x), None

    def f_bwd(_, dy):
        return (backward_v(dy),)

    f.defvjp(f_fwd, f_bwd)
    return f


def avg_pool2d(x, window_shape, strides=None, padding="VALID", ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Window averages: x:(N,C,H,W) -> (N,C,Ho,Wo). See the module docstring."""
    op = "avg_pool2d"
    attrs, _, out = _params(op, x, window_shape, strides, padding, 1, ceil_mode)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"pykernels.jax.{op}: count_include_pad must be a bool, got {count_include_pad!r}")
    if divisor_override is not None and (isinstance(divisor_override, (bool, np.bool_))
                                         or not isinstance(divisor_override, (int, np.integer))
                                         or divisor_override <= 0):
        raise ValueError(f"pykernels.jax.{op}: divisor_override must be a positive int or None, "
                         f"got {divisor_override!r}")
    attrs.update(count_include_pad=bool(count_include_pad),
                 divisor_override=0 if divisor_override is None else int(divisor_override))
    return _avg(tuple(attrs.items()), tuple(x.shape[2:]), out)(x)
