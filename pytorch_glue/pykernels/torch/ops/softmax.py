"""Softmax and log-softmax: ``pykernels::softmax``, ``pykernels::softmax_backward``,
``pykernels::log_softmax``, ``pykernels::log_softmax_backward``.

    softmax(x, dim) -> exp(x - max) / sum(exp(x - max)) along dim
    log_softmax(x, dim) -> (x - max) - log(sum(exp(x - max))) along dim
    softmax_backward(grad_output, y, dim) -> y * (grad_output - sum(grad_output * y, dim))
    log_softmax_backward(grad_output, y, dim) -> grad_output - exp(y) * sum(grad_output, dim)

x: any shape and strides (0-d counts as 1-d, as torch); dim in [-ndim, ndim). The
backward takes the forward OUTPUT y, so autograd saves y (only when x needs a grad).
``<op>_fast``: the same ops for eager callers, without the dispatcher when nothing
needs it (see _glue.fast_path).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .._glue import call, empty_like, fast_path


def _dim(x: Tensor, dim: int, op: str) -> int:
    nd = max(x.dim(), 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} is out of range for a {x.dim()}-d tensor "
                         f"(expected [{-nd}, {nd - 1}])")
    return dim % nd


def _one(t: Tensor) -> Tensor:
    """The C ABI needs ndim >= 1: a 0-d tensor is passed as a (1,) view."""
    return t.reshape(1) if t.dim() == 0 else t


def _forward_outputs(x: Tensor, dim: int) -> Tensor:
    _dim(x, dim, "pykernels::softmax")
    return empty_like(x)


def _backward_outputs(grad_output: Tensor, y: Tensor, dim: int) -> Tensor:
    _dim(y, dim, "pykernels::softmax_backward")
    return empty_like(y)


def _softmax(x: Tensor, dim: int) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along dim."""
    y = _forward_outputs(x, dim)
    call(_C.softmax_forward, "pykernels::softmax", _dim(x, dim, "pykernels::softmax"),
         x=_one(x), y=_one(y))
    return y


def _log_softmax(x: Tensor, dim: int) -> Tensor:
    """(x - max) - log(sum(exp(x - max))) along dim."""
    y = _forward_outputs(x, dim)
    call(_C.log_softmax_forward, "pykernels::log_softmax",
         _dim(x, dim, "pykernels::log_softmax"), x=_one(x), y=_one(y))
    return y


def _softmax_backward(grad_output: Tensor, y: Tensor, dim: int) -> Tensor:
    """y * (grad_output - sum(grad_output * y, dim)); y is softmax's output."""
    dx = _backward_outputs(grad_output, y, dim)
    op = "pykernels::softmax_backward"
    call(_C.softmax_backward, op, _dim(y, dim, op), dy=_one(grad_output), y=_one(y), dx=_one(dx))
    return dx


def _log_softmax_backward(grad_output: Tensor, y: Tensor, dim: int) -> Tensor:
    """grad_output - exp(y) * sum(grad_output, dim); y is log_softmax's output."""
    dx = _backward_outputs(grad_output, y, dim)
    op = "pykernels::log_softmax_backward"
    call(_C.log_softmax_backward, op, _dim(y, dim, op), dy=_one(grad_output), y=_one(y),
         dx=_one(dx))
    return dx


softmax = torch.library.custom_op("pykernels::softmax", mutates_args=())(_softmax)
log_softmax = torch.library.custom_op("pykernels::log_softmax", mutates_args=())(_log_softmax)
softmax_backward = torch.library.custom_op("pykernels::softmax_backward",
                                           mutates_args=())(_softmax_backward)
log_softmax_backward = torch.library.custom_op("pykernels::log_softmax_backward",
                                               mutates_args=())(_log_softmax_backward)
softmax_backward_fast = fast_path(softmax_backward, _softmax_backward)
log_softmax_backward_fast = fast_path(log_softmax_backward, _log_softmax_backward)
for _op in (softmax, log_softmax):
    _op.register_fake(_forward_outputs)
for _op in (softmax_backward, log_softmax_backward):
    _op.register_fake(_backward_outputs)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save the output y (what both backwards need) only when x needs a gradient."""
    ctx.dim = inputs[1]
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def softmax_grad(ctx, grad_output: Tensor):
    (y,) = ctx.saved_tensors
    return softmax_backward_fast(grad_output, y, ctx.dim), None


def log_softmax_grad(ctx, grad_output: Tensor):
    (y,) = ctx.saved_tensors
    return log_softmax_backward_fast(grad_output, y, ctx.dim), None


softmax.register_autograd(softmax_grad, setup_context=setup_context)
log_softmax.register_autograd(log_softmax_grad, setup_context=setup_context)
softmax_fast = fast_path(softmax, _softmax, setup_context, softmax_grad)
log_softmax_fast = fast_path(log_softmax, _log_softmax, setup_context, log_softmax_grad)
