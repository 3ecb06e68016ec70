"""softmax and log_softmax on jax.Arrays, like jax.nn (targets: jax_ffi/softmax.cpp):

    softmax(x, axis=-1)        exp(x - max) / sum(exp(x - max)) along axis
    log_softmax(x, axis=-1)    x - max - log(sum(exp(x - max))) along axis

x: float32/float64 of any shape with ndim >= 1; ``axis`` one int (negative counts from
the end): the kernel normalises each 1-D row along it in place of any transpose. The
backward runs from the saved output y (kn_softmax_backward / kn_log_softmax_backward).

vmap: one kernel call on the batched array with the axis shifted by one (the mapped
axis becomes more rows); an unmapped cotangent or output is broadcast.

Departures from jax.nn: ``axis`` is one int, not a tuple; no ``where`` / ``initial``
arguments; integer x raises TypeError (jax.nn promotes it to float); a 0-d x raises
ValueError.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, like

__all__ = ["softmax", "log_softmax"]


def _rows(target: str, dim: int, *arrays):
    """``pykernels.<target>`` on arrays of one shape along ``dim``; under vmap, one call on
    the batched arrays along dim + 1."""
    @jax.custom_batching.custom_vmap
    def f(*a):
        return call(target, like(a[0]), *a, dim=dim)

    @f.def_vmap
    def _rule(axis_size, in_batched, *a):
        # custom_vmap puts the mapped axis first: broadcast the unmapped, normalise along dim+1
        a = [x if b else jnp.broadcast_to(x[None], (axis_size,) + x.shape) for x, b in zip(a, in_batched)]
        return _rows(target, dim + 1, *a), True

    return f(*arrays)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 2))
def _normalise(log, x, dim):
    return _rows("log_softmax_forward" if log else "softmax_forward", dim, x)


def _normalise_fwd(log, x, dim):
    y = _normalise(log, x, dim)
    return y, y  # both backwards read the output, not x


def _normalise_bwd(log, dim, y, dy):
    return (_rows("log_softmax_backward" if log else "softmax_backward", dim, dy, y),)


_normalise.defvjp(_normalise_fwd, _normalise_bwd)


def _axis(op: str, x, axis) -> int:
    check_float(op, x=x)
    if x.ndim < 1:
        raise ValueError(f"pykernels.jax.{op}: x must have at least 1 dim, got a 0-d array")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"pykernels.jax.{op}: axis must be one int, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"pykernels.jax.{op}: axis {axis} is out of range for x of shape {tuple(x.shape)}")
    return int(axis) % x.ndim


def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``, like jax.nn.softmax."""
    return _normalise(False, x, _axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``, like jax.nn.log_softmax."""
    return _normalise(True, x, _axis("log_softmax", x, axis))
