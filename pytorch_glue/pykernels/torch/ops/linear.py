"""Linear: ``pykernels::linear`` and ``pykernels::linear_backward``.

    linear(x:(N,in), weight:(out,in), bias:(out,) or None) -> y:(N,out) = x weight^T + bias
    linear_backward(grad_output:(N,out), x:(N,in) or None, weight:(out,in) or None,
                    need_input, need_weight, need_bias)
        -> (grad_input:(N,in), grad_weight:(out,in), grad_bias:(out,))

An output whose ``need_*`` is False is returned as a 0-element tensor; x may
be None when grad_weight is not needed, weight when grad_input is not.

``linear_fast`` / ``linear_backward_fast`` are the same ops for eager callers (see
_glue.fast_path).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C
from .. import _glue
from .._glue import call, empty, expect_dim, fast_path, none_output

# ------------------------------------------------------------------ forward


def _linear_outputs(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    expect_dim(x, 2, "pykernels::linear", "x")
    expect_dim(weight, 2, "pykernels::linear", "weight")
    return empty((x.shape[0], weight.shape[0]), like=x)


def _linear(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """y = x weight^T + bias.  x:(N,in) weight:(out,in) bias:(out,) or None -> y:(N,out)."""
    y = _linear_outputs(x, weight, bias)
    call(_C.linear_forward, "pykernels::linear", x=x, w=weight, b=bias, y=y)
    return y


linear = torch.library.custom_op("pykernels::linear", mutates_args=())(_linear)
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
    if need_input:
        expect_dim(weight, 2, op, "weight")
        dx = empty((n, weight.shape[1]), like=grad_output)
    else:
        dx = none_output(grad_output)
    if need_weight:
        expect_dim(x, 2, op, "x")
        dw = empty((out, x.shape[1]), like=grad_output)
    else:
        dw = none_output(grad_output)
    db = empty((out,), like=grad_output) if need_bias else none_output(grad_output)
    return dx, dw, db


def _linear_backward(grad_output: Tensor, x: Optional[Tensor], weight: Optional[Tensor],
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


linear_backward = torch.library.custom_op("pykernels::linear_backward",
                                          mutates_args=())(_linear_backward)
linear_backward.register_fake(_linear_backward_outputs)
linear_backward_fast = fast_path(linear_backward, _linear_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save x only if weight needs a gradient, weight only if x does."""
    x, weight = inputs[0], inputs[1]  # bias may be absent (LinearFunction.apply(x, w))
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    ctx.save_for_backward(x if need_w else None, weight if need_x else None)


def backward(ctx, grad_output: Tensor):
    x, weight = ctx.saved_tensors
    need_x, need_w, need_b = (*ctx.needs_input_grad, False)[:3]
    dx, dw, db = linear_backward_fast(grad_output, x, weight, need_x, need_w, need_b)
    return dx if need_x else None, dw if need_w else None, db if need_b else None


linear.register_autograd(backward, setup_context=setup_context)
# Eager callers (functional.linear) skip the dispatcher when nothing needs it: _glue.fast_path.
# The C++ autograd node (torch_ext/linear.cpp) in plain eager mode, where built.
linear_fast = fast_path(linear, _linear, setup_context, backward,
                        node=lambda fallback: _glue.torch_ext.LinearNode(fallback, linear_backward_fast))
