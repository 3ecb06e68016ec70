"""Linear: ``pykernels::linear`` and ``pykernels::linear_backward``.

    linear(x:(N,in), weight:(out,in), bias:(out,) or None) -> y:(N,out) = x weight^T + bias
    linear_backward(grad_output:(N,out), x:(N,in) or None, weight:(out,in) or None,
                    need_input, need_weight, need_bias)
        -> (grad_input:(N,in), grad_weight:(out,in), grad_bias:(out,))

An output whose ``need_*`` is False is returned as a 0-element tensor; x may
be None when grad_weight is not needed, weight when grad_input is not.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C
from .._glue import call, empty, expect_dim, none_output
from . import _eager

# ------------------------------------------------------------------ forward


def _linear_outputs(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    expect_dim(x, 2, "pykernels::linear", "x")
    expect_dim(weight, 2, "pykernels::linear", "weight")
    return empty((x.shape[0], weight.shape[0]), like=x)


@torch.library.custom_op("pykernels::linear", mutates_args=())
def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """y = x weight^T + bias.  x:(N,in) weight:(out,in) bias:(out,) or None -> y:(N,out)."""
    y = _linear_outputs(x, weight, bias)
    call(_C.linear_forward, "pykernels::linear", x=x, w=weight, b=bias, y=y)
    return y


linear.register_fake(_linear_outputs)

# ----------------------------------------------------------------- backward


def _linear_backward_outputs(grad_output: Tensor, x: Optional[Tensor], weight: Optional[Tensor],
                             need_input: bool, need_weight: bool, need_bias: bool):
    op = "pykernels::linear_backward"
    expect_dim(grad_output, 2, op, "grad_output")
    if need_input and weight is None:
        raise ValueError(f"{op}: weight: must not be None when need_input is True")
    if need_weight and x is None:
        raise ValueError(f"{op}: x: must not be None when need_weight is True")
    n, out = grad_output.shape
    dx = none_output(grad_output)
    dw = none_output(grad_output)
    db = none_output(grad_output)
    if need_input:
        expect_dim(weight, 2, op, "weight")
        dx = empty((n, weight.shape[1]), like=grad_output)
    if need_weight:
        expect_dim(x, 2, op, "x")
        dw = empty((out, x.shape[1]), like=grad_output)
    if need_bias:
        db = empty((out,), like=grad_output)
    return dx, dw, db


@torch.library.custom_op("pykernels::linear_backward", mutates_args=())
def linear_backward(grad_output: Tensor, x: Optional[Tensor], weight: Optional[Tensor],
                    need_input: bool, need_weight: bool, need_bias: bool
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """(grad_input:(N,in) = grad_output weight, grad_weight:(out,in) = grad_output^T x,
    grad_bias:(out,) = sum_n grad_output); a 0-element tensor where not needed."""
    dx, dw, db = _linear_backward_outputs(grad_output, x, weight, need_input, need_weight,
                                          need_bias)
    call(_C.linear_backward, "pykernels::linear_backward", dy=grad_output,
         x=x if need_weight else None, w=weight if need_input else None,
         dx=dx if need_input else None, dw=dw if need_weight else None,
         db=db if need_bias else None)
    return dx, dw, db


linear_backward.register_fake(_linear_backward_outputs)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save x only if weight needs a gradient, weight only if x does."""
    x, weight = inputs[0], inputs[1]  # bias may be absent (LinearFunction.apply(x, w))
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    ctx.save_for_backward(x if need_w else None, weight if need_x else None)


def backward(ctx, grad_output: Tensor):
    x, weight = ctx.saved_tensors
    need_x, need_w, need_b = (*ctx.needs_input_grad, False)[:3]
    dx, dw, db = linear_backward(grad_output, x, weight, need_x, need_w, need_b)
    return dx if need_x else None, dw if need_w else None, db if need_b else None


linear.register_autograd(backward, setup_context=setup_context)

# ------------------------------------------------------- eager fast path (_eager.py)


def _backward_direct(grad_output, x, weight, need_x, need_w, need_b):
    """(dx, dw, db) with None where not needed; the C call directly when grad_output is
    plain, else through the linear_backward op."""
    # create_graph=True (grad mode on in backward) takes the op, as without the fast path.
    if (torch.is_grad_enabled() or not _eager.plain((grad_output,), grad_output.dtype)
            or grad_output.dim() != 2):
        dx, dw, db = linear_backward(grad_output, x, weight, need_x, need_w, need_b)
        return dx if need_x else None, dw if need_w else None, db if need_b else None
    n, out = grad_output.shape
    dtype = grad_output.dtype
    dx = torch.empty((n, weight.shape[1]), dtype=dtype) if need_x else None
    dw = torch.empty((out, x.shape[1]), dtype=dtype) if need_w else None
    db = torch.empty((out,), dtype=dtype) if need_b else None
    d = _eager.desc
    _C.linear_backward(d(grad_output), d(x) if need_w else None, d(weight) if need_x else None,
                       d(dx), d(dw), d(db))
    return dx, dw, db


class _LinearEager(torch.autograd.Function):
    """The eager fast path's autograd node: same saved tensors and formula as the op's
    register_autograd (setup_context/backward above)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        y = torch.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
        _C.linear_forward(_eager.desc(x), _eager.desc(weight), _eager.desc(bias), _eager.desc(y))
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        ctx.save_for_backward(x if need_w else None, weight if need_x else None)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, weight = ctx.saved_tensors
        return _backward_direct(grad_output, x, weight, *ctx.needs_input_grad)


def _linear_fast(x, weight, bias=None):
    """Eager ``linear`` on plain CPU tensors without the custom-op machinery, or
    NotImplemented (then the op runs as usual, with its checks and messages)."""
    if not isinstance(x, torch.Tensor) or not _eager.plain((x, weight, bias), x.dtype):
        return NotImplemented
    if (x.dim() != 2 or weight.dim() != 2 or x.shape[1] != weight.shape[1]
            or (bias is not None and (bias.dim() != 1 or bias.shape[0] != weight.shape[0]))):
        return NotImplemented
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad
                                    or (bias is not None and bias.requires_grad)):
        return _LinearEager.apply(x, weight, bias)
    y = torch.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    _C.linear_forward(_eager.desc(x), _eager.desc(weight), _eager.desc(bias), _eager.desc(y))
    return y


_eager.install(linear, _linear_fast)
