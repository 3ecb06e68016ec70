"""batch_norm on jax.Arrays (targets: jax_ffi/batch_norm.cpp, kernels/batch_norm.h):

    batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training=False, momentum=0.1, eps=1e-5)
        -> (y, new_running_mean, new_running_var)
        x:(N, C, *) (2 to 8 dims), running_mean, running_var, weight, bias:(C,) or None

torch.nn.functional.batch_norm's arguments, in its order (jax.nn has none; flax's
BatchNorm keeps the statistics in a mutable collection, with momentum the weight of the
OLD value and a biased running variance). Functional state instead of torch's in-place
buffers: the running statistics are taken and the updated ones returned, so a training
step threads them (``y, rm, rv = batch_norm(x, rm, rv, w, b, training=True)``) with the
same code in both modes:

  training=True:  y normalises with the batch's statistics (per channel over the
                  M = N * prod(*) values; biased variance); when running stats are given
                  (both or neither) they come back updated exactly as torch updates them,
                  (1 - momentum) running + momentum batch, with the UNBIASED batch variance
                  (the kernel's own update: the new stats are results aliased to the given
                  ones, never recomputed in Python); None, None when not given. M must be > 1.
  training=False: y normalises with the running statistics (required), which come back
                  unchanged.

Why take/return rather than return (y, batch_mean, batch_var): the update (its momentum
convention and the M / (M - 1) correction) stays torch's and the kernel's, one call,
and the caller cannot get it subtly wrong. torch's momentum=None (a cumulative average)
is momentum = 1 / num_batches_tracked, computed by the caller.

Gradients for x, weight and bias (the kernel's backward, from the batch mean and
1/sqrt(var + eps) that the forward saves; in eval mode the statistics are constants),
computing only those JAX asks for. The running statistics are state, not parameters:
no gradient flows into them or out of the returned ones (as if under
jax.lax.stop_gradient; torch's buffers and flax's batch_stats behave alike).
vmap: the mapped axis folds into the channels, x:(B, N, C, *) -> (N, B*C, *) (a
transpose) and the (C,) arrays -> (B*C,), one kernel call: each example keeps its own
batch statistics, forward and backward, any operand mapped or not.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, like, shape_dtype

__all__ = ["batch_norm"]


def _fold_channels(fn, spatial):
    """``fn(*operands)`` with a vmap rule that folds the mapped axis into the channels:
    operands marked ``spatial`` are (N, C, *) and become (N, B*C, *); the others are (C,)
    and become (B*C,); results alike by their rank ((C,) results are 1-D); None stays None."""
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, *operands):
        folded = []
        for a, batched, sp in zip(operands, in_batched, spatial):
            if a is None:
                folded.append(None)
                continue
            if not batched:
                a = jnp.broadcast_to(a[None], (axis_size,) + a.shape)
            if sp:  # (B, N, C, *) -> (N, B, C, *) -> (N, B*C, *)
                a = jnp.moveaxis(a, 0, 1)
                a = a.reshape((a.shape[0], axis_size * a.shape[2]) + a.shape[3:])
            else:   # (B, C) -> (B*C,)
                a = a.reshape((-1,))
            folded.append(a)
        outs = fn(*folded)
        unfolded = []
        for o in outs:
            if o is None:
                unfolded.append(None)
            elif o.ndim == 1:
                unfolded.append(o.reshape((axis_size, -1)))
            else:  # (N, B*C, *) -> (N, B, C, *) -> (B, N, C, *)
                o = o.reshape((o.shape[0], axis_size, o.shape[1] // axis_size) + o.shape[2:])
                unfolded.append(jnp.moveaxis(o, 1, 0))
        return unfolded, jax.tree_util.tree_map(lambda _: True, unfolded)

    return wrapped


@functools.lru_cache(maxsize=None)
def _bn(training: bool, momentum: float, eps: float, tracked: bool):
    """The custom_vjp function (x, weight, bias, running_mean, running_var) ->
    [y, new_running_mean, new_running_var] for one mode and set of attributes."""
    attrs = dict(eps=eps, momentum=momentum, training=training)
    update = training and tracked

    def forward(x, w, b, rm, rv):
        # x:(N,C,*) -> y:(N,C,*), save_mean, save_invstd:(C,), new rm, rv:(C,) in training
        c = shape_dtype((x.shape[1],), x.dtype)
        return call("batch_norm_forward", [like(x), c, c, c if update else None, c if update else None],
                    x, w, b, rm, rv, input_output_aliases={3: 3, 4: 4} if update else None, **attrs)

    def backward(dy, x, w, mean, invstd, need):
        c = shape_dtype((x.shape[1],), x.dtype)
        return call("batch_norm_backward", [like(x) if need[0] else None, c if need[1] else None,
                                            c if need[2] else None], dy, x, w, mean, invstd, **attrs)

    forward_v = _fold_channels(forward, spatial=(True, False, False, False, False))

    @jax.custom_vjp
    def f(x, w, b, rm, rv):
        y, _, _, new_rm, new_rv = forward_v(x, w, b, rm, rv)
        return y, (new_rm if update else rm), (new_rv if update else rv)

    def f_fwd(x, w, b, rm, rv):
        need = (x.perturbed, w is not None and w.perturbed, b is not None and b.perturbed)
        w = None if w is None else w.value
        rm, rv = (None if rm is None else rm.value), (None if rv is None else rv.value)
        y, mean, invstd, new_rm, new_rv = forward_v(x.value, w, None if b is None else b.value, rm, rv)
        out = (y, (new_rm if update else rm), (new_rv if update else rv))
        return out, (x.value, w, mean, invstd, need)

    def f_bwd(res, cotangents):
        x, w, mean, invstd, need = res
        dy = cotangents[0]  # the running statistics' cotangents are dropped: state, no gradient
        if isinstance(dy, jax.custom_derivatives.SymbolicZero) or not any(need):
            dx, dw, db = (None, None, None)
        else:
            backward_v = _fold_channels(functools.partial(backward, need=need),
                                        spatial=(True, True, False, False, False))
            dx, dw, db = backward_v(dy, x, w, mean, invstd)
        return dx, dw, db, None, None

    f.defvjp(f_fwd, f_bwd, symbolic_zeros=True)
    return f


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation of x:(N, C, *) -> (y, new_running_mean, new_running_var); see the
    module docstring."""
    op = "batch_norm"
    check_float(op, x=x, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    if not 2 <= x.ndim <= 8:
        raise ValueError(f"pykernels.jax.{op}: x must be (N, C, *) with 2 to 8 dims, got shape {tuple(x.shape)}")
    c = x.shape[1]
    for name, a in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if a is not None and tuple(a.shape) != (c,):
            raise ValueError(f"pykernels.jax.{op}: {name} has shape {tuple(a.shape)}, expected ({c},)")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"pykernels.jax.{op}: give both running_mean and running_var, or neither")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"pykernels.jax.{op}: training must be a bool, got {training!r}")
    training = bool(training)
    tracked = running_mean is not None
    if not training and not tracked:
        raise ValueError(f"pykernels.jax.{op}: eval mode (training=False) normalises with the running "
                         "statistics: running_mean and running_var are required")
    m = int(np.prod((x.shape[0],) + tuple(x.shape[2:]), dtype=np.int64))
    if training and m == 1:
        raise ValueError(f"pykernels.jax.{op}: expected more than 1 value per channel when training, "
                         f"got input shape {tuple(x.shape)}")
    eps, momentum = float(eps), float(momentum)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"pykernels.jax.{op}: eps must be finite and >= 0, got {eps}")
    if not np.isfinite(momentum):
        raise ValueError(f"pykernels.jax.{op}: momentum must be finite, got {momentum}")
    y, rm, rv = _bn(training, momentum, eps, tracked)(x, weight, bias, running_mean, running_var)
    return y, rm, rv
