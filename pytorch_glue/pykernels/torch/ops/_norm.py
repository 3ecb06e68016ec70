"""The backward's output allocation, kernel call and autograd formula shared by the
normalisation ops whose forward returns (output, mean, rstd) and whose backward takes
(grad_output, input, <int param>, weight?, mean, rstd, need_input, need_weight, need_bias):
layer_norm.py (param: normalized_ndim, weight (*norm)) and group_norm.py (num_groups,
weight (C)). Each op keeps its own custom-op functions (their signatures give the schema)
and calls these."""
from __future__ import annotations

from typing import Callable, Optional

from torch import Tensor

from .._glue import call, empty, mark_non_differentiable, none_output


def backward_outputs(grad_output: Tensor, input: Tensor, param_shape: tuple, need_input: bool,
                     need_weight: bool, need_bias: bool):
    """(dx, dweight, dbias): dx like input, dweight and dbias of param_shape; a 0-element
    tensor where not needed (real and fake kernels alike)."""
    dx = empty(tuple(input.shape), like=grad_output) if need_input else none_output(grad_output)
    dw = empty(param_shape, like=grad_output) if need_weight else none_output(grad_output)
    db = empty(param_shape, like=grad_output) if need_bias else none_output(grad_output)
    return dx, dw, db


def call_backward(kernel, op: str, param: int, grad_output: Tensor, input: Tensor,
                  weight: Optional[Tensor], mean: Tensor, rstd: Tensor, outputs, need_input: bool,
                  need_weight: bool, need_bias: bool):
    """Runs _C.<op>_backward into outputs = (dx, dw, db) (those not needed: None to the
    kernel; the weight only matters for dx) and returns outputs."""
    dx, dw, db = outputs
    call(kernel, op, int(param), 0.0, dy=grad_output, x=input,
         weight=weight if need_input else None, mean=mean, rstd=rstd,
         dx=dx if need_input else None, dweight=dw if need_weight else None,
         dbias=db if need_bias else None)
    return dx, dw, db


def autograd(backward_op: Callable):
    """(setup_context, backward) of the forward op given its backward op (the fast path).
    Saves input, weight, mean and rstd (the last two: outputs, not differentiable)."""

    def setup_context(ctx, inputs, output) -> None:
        """Saves input, weight, mean and rstd (the last two: outputs, not differentiable)."""
        input, param, weight = (*inputs, None)[:3]  # <Op>Function.apply(x, param)
        _, mean, rstd = output
        mark_non_differentiable(ctx, mean, rstd)
        ctx.param = int(param)
        ctx.save_for_backward(input, weight, mean, rstd)

    def backward(ctx, grad_output: Tensor, grad_mean, grad_rstd):
        if grad_output is None:  # see mark_non_differentiable
            return None, None, None, None, None
        input, weight, mean, rstd = ctx.saved_tensors
        need = (*ctx.needs_input_grad, False, False, False)
        need_x, need_w, need_b = need[0], need[2] and weight is not None, need[3]
        dx, dw, db = backward_op(grad_output, input, ctx.param, weight, mean, rstd, need_x, need_w,
                                 need_b)
        return dx if need_x else None, None, dw if need_w else None, db if need_b else None, None

    return setup_context, backward
