"""MSE loss: ``pykernels::mse_loss`` and ``pykernels::mse_loss_backward``.

    mse_loss(input, target, reduction) -> (input - target)^2 reduced:
        input's shape for 'none', a 0-d tensor for 'mean' and 'sum'
    mse_loss_backward(grad_output, input, target, reduction, need_input, need_target)
        -> (grad_input, grad_target), each of input's shape; a 0-element tensor where
        not needed. grad_output has the forward output's shape.

input and target must have one shape: pykernels does not broadcast.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C, _reduction_code
from .._glue import call, empty, expect_same_shape, fast_path, none_output

# ------------------------------------------------------------------ forward


def _mse_loss_outputs(input: Tensor, target: Tensor, reduction: str) -> Tensor:
    op = "pykernels::mse_loss"
    code = _reduction_code(reduction, op)
    expect_same_shape(input, "input", target, "target", op)
    return empty(input.shape if code == _C.REDUCTION_NONE else (), like=input)


def _mse_loss(input: Tensor, target: Tensor, reduction: str) -> Tensor:
    """(input - target)^2, reduced by 'none' | 'mean' | 'sum'."""
    out = _mse_loss_outputs(input, target, reduction)
    op = "pykernels::mse_loss"
    call(_C.mse_loss_forward, op, _reduction_code(reduction, op),
         input=input, target=target, out=out)
    return out


mse_loss = torch.library.custom_op("pykernels::mse_loss", mutates_args=())(_mse_loss)
mse_loss.register_fake(_mse_loss_outputs)

# ----------------------------------------------------------------- backward


def _mse_loss_backward_outputs(grad_output: Tensor, input: Tensor, target: Tensor,
                               reduction: str, need_input: bool, need_target: bool):
    op = "pykernels::mse_loss_backward"
    _reduction_code(reduction, op)
    expect_same_shape(input, "input", target, "target", op)
    di = empty(input.shape, like=input) if need_input else none_output(input)
    dt = empty(input.shape, like=input) if need_target else none_output(input)
    return di, dt


def _mse_loss_backward(grad_output: Tensor, input: Tensor, target: Tensor, reduction: str,
                      need_input: bool, need_target: bool) -> tuple[Tensor, Tensor]:
    """grad_input = 2 (input - target) grad_output [/ numel for 'mean'],
    grad_target = -grad_input."""
    di, dt = _mse_loss_backward_outputs(grad_output, input, target, reduction, need_input,
                                        need_target)
    op = "pykernels::mse_loss_backward"
    call(_C.mse_loss_backward, op, _reduction_code(reduction, op),
         dout=grad_output, input=input, target=target,
         dinput=di if need_input else None, dtarget=dt if need_target else None)
    return di, dt


mse_loss_backward = torch.library.custom_op("pykernels::mse_loss_backward", mutates_args=())(_mse_loss_backward)
mse_loss_backward.register_fake(_mse_loss_backward_outputs)
mse_loss_backward_fast = fast_path(mse_loss_backward, _mse_loss_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save input and target only when one of them needs a gradient."""
    input, target = inputs[0], inputs[1]
    ctx.reduction = inputs[2] if len(inputs) > 2 else "mean"  # MSELossFunction's default
    needed = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
    ctx.save_for_backward(*((input, target) if needed else (None, None)))


def backward(ctx, grad_output: Tensor):
    input, target = ctx.saved_tensors
    need_input, need_target = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    di, dt = mse_loss_backward_fast(grad_output, input, target, ctx.reduction, need_input, need_target)
    return di if need_input else None, dt if need_target else None, None


mse_loss.register_autograd(backward, setup_context=setup_context)
mse_loss_fast = fast_path(mse_loss, _mse_loss, setup_context, backward)
