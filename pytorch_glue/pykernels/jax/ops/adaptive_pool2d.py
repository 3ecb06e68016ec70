"""2-D adaptive average and max pooling on jax.Arrays (targets: jax_ffi/adaptive_pool2d.cpp,
kernels/adaptive_pool2d.h):

    adaptive_avg_pool2d(x, output_size) -> y     x:(N,C,H,W) -> y:(N,C,Ho,Wo)
    adaptive_max_pool2d(x, output_size) -> y

torch.nn.functional's names and bins (jax and flax have no adaptive pooling): output
row oh pools the input rows [floor(oh H / Ho), ceil((oh + 1) H / Ho)), columns alike.
output_size: an int or an (Ho, Wo) pair, whose entries may be None (= the input's size),
any size >= 0. H and W must be >= 1. torch's ``return_indices`` is left out (the
argmax indices are an internal of the gradient here).

adaptive_max_pool2d keeps only the int32 argmax indices (flat h*W + w, the first
maximum of a bin) for its backward; adaptive_avg_pool2d's backward needs no saved array.
An empty output (C, Ho or Wo = 0), which the backward kernels refuse, is computed
without a kernel call (its gradient is zero).
vmap: both fold the mapped axis into N (one kernel call), forward and backward.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, check_ndim, fold_batch, shape_dtype

__all__ = ["adaptive_avg_pool2d", "adaptive_max_pool2d"]

_INT32_MAX = 2**31 - 1


def _output_size(op, x, output_size):
    check_float(op, x=x)
    check_ndim(op, "x", x, 4)
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"pykernels.jax.{op}: x must have H, W >= 1, got shape {tuple(x.shape)}")
    items = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(items) != 2:
        raise TypeError(f"pykernels.jax.{op}: output_size: expected an int or a pair, got {output_size!r}")
    out = []
    for i, v in enumerate(items):
        if v is None:
            v = x.shape[2 + i]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"pykernels.jax.{op}: output_size entries must be ints >= 0 or None, "
                             f"got {output_size!r}")
        out.append(int(v))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _pool(kind: str, hw: tuple, out_hw: tuple):
    """The custom_vjp function x -> y of one kind ("avg" / "max"), (H, W) and (Ho, Wo)."""
    index_dtype = np.int32 if hw[0] * hw[1] <= _INT32_MAX else np.int64

    def forward(x):
        # x:(N,C,H,W) -> [y:(N,C,Ho,Wo)] (+ indices:(N,C,Ho,Wo) for max)
        out = x.shape[:2] + out_hw
        if x.shape[1] == 0 or 0 in out_hw:  # nothing to pool (the max kernel refuses C = 0)
            return [jnp.zeros(out, x.dtype)] + ([jnp.zeros(out, index_dtype)] if kind == "max" else [])
        if kind == "avg":
            return [call("adaptive_avg_pool2d_forward", shape_dtype(out, x.dtype), x)]
        return call("adaptive_max_pool2d_forward", [shape_dtype(out, x.dtype), shape_dtype(out, index_dtype)], x)

    def backward(dy, *indices):
        # dy:(N,C,Ho,Wo) (+ indices) -> dx:(N,C,H,W)
        dx = shape_dtype(dy.shape[:2] + hw, dy.dtype)
        if dy.shape[1] == 0 or 0 in out_hw:  # the backward kernels refuse an empty dy
            return jnp.zeros(dx.shape, dx.dtype)
        return call(f"adaptive_{kind}_pool2d_backward", dx, dy, *indices)

    n_saved = 1 if kind == "max" else 0
    forward_v = fold_batch(forward, fold_in=(True,), fold_out=(True,) * (1 + n_saved))
    backward_v = fold_batch(backward, fold_in=(True,) * (1 + n_saved), fold_out=(True,))

    @jax.custom_vjp
    def f(x):
        return forward_v(x)[0]

    def f_fwd(x):
        outs = forward_v(x)
        return outs[0], tuple(outs[1:])

    def f_bwd(saved, dy):
        return (backward_v(dy, *saved),)

    f.defvjp(f_fwd, f_bwd)
    return f


def adaptive_avg_pool2d(x, output_size):
    """Means over torch's adaptive bins: x:(N,C,H,W) -> (N,C,Ho,Wo)."""
    out = _output_size("adaptive_avg_pool2d", x, output_size)
    return _pool("avg", tuple(x.shape[2:]), out)(x)


def adaptive_max_pool2d(x, output_size):
    """Maxima over torch's adaptive bins: x:(N,C,H,W) -> (N,C,Ho,Wo)."""
    out = _output_size("adaptive_max_pool2d", x, output_size)
    return _pool("max", tuple(x.shape[2:]), out)(x)
