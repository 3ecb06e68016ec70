"""Conv2d: ``pykernels::conv2d`` and ``pykernels::conv2d_backward``.

    conv2d(input:(N,C,H,W), weight:(O,C/groups,kH,kW), bias:(O,) or None,
           stride: int[2], padding: int[2], dilation: int[2], groups: int) -> (N,O,Ho,Wo)
        Ho = (H + 2 padding[0] - dilation[0] (kH - 1) - 1) // stride[0] + 1   (Wo alike)
    conv2d_backward(grad_output:(N,O,Ho,Wo), input:(N,C,H,W), weight:(O,C/groups,kH,kW),
                    stride, padding, dilation, groups, need_input, need_weight, need_bias)
        -> (grad_input:(N,C,H,W), grad_weight:(O,C/groups,kH,kW), grad_bias:(O,))

An output whose ``need_*`` is False is returned as a 0-element tensor. Of input only
the shape is used unless need_weight, of weight only the shape unless need_input: the
autograd formula passes zero-stride expanded placeholders (no memory) for the tensors
it did not save, so that inference saves nothing.

``conv2d_fast`` / ``conv2d_backward_fast`` are the same ops for eager callers (see
_glue.fast_path).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor

from ... import _C, _conv2d_out_shape, _pair
from .._glue import call, empty, expect_dim, fast_path, none_output

_FORWARD_SCHEMA = ("(Tensor input, Tensor weight, Tensor? bias, int[2] stride, "
                   "int[2] padding, int[2] dilation, int groups) -> Tensor")
_BACKWARD_SCHEMA = ("(Tensor grad_output, Tensor input, Tensor weight, int[2] stride, "
                    "int[2] padding, int[2] dilation, int groups, bool need_input, "
                    "bool need_weight, bool need_bias) -> (Tensor, Tensor, Tensor)")


def conv2d_output_shape(input_shape: Sequence[int], weight_shape: Sequence[int],
                        stride: Sequence[int], padding: Sequence[int],
                        dilation: Sequence[int], op: str = "pykernels::conv2d") -> tuple:
    """(N, O, Ho, Wo): pykernels' one conv2d output-shape rule, with torch's argument name."""
    return _conv2d_out_shape(input_shape, weight_shape, stride, padding, dilation, op, "input")


def _params(stride, padding, dilation):
    return tuple(stride), tuple(padding), tuple(dilation)

# ------------------------------------------------------------------ forward


def _conv2d_outputs(input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: Sequence[int],
                    padding: Sequence[int], dilation: Sequence[int], groups: int) -> Tensor:
    expect_dim(input, 4, "pykernels::conv2d", "input")
    expect_dim(weight, 4, "pykernels::conv2d", "weight")
    return empty(conv2d_output_shape(input.shape, weight.shape, stride, padding, dilation),
                 like=input)


def _conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: Sequence[int],
           padding: Sequence[int], dilation: Sequence[int], groups: int) -> Tensor:
    """2-D convolution with zero padding (as torch.nn.functional.conv2d with int pairs)."""
    y = _conv2d_outputs(input, weight, bias, stride, padding, dilation, groups)
    call(_C.conv2d_forward, "pykernels::conv2d", *_params(stride, padding, dilation), groups,
         x=input, w=weight, b=bias, y=y)
    return y


conv2d = torch.library.custom_op("pykernels::conv2d", mutates_args=(),
                                 schema=_FORWARD_SCHEMA)(_conv2d)
conv2d.register_fake(_conv2d_outputs)

# ----------------------------------------------------------------- backward


def _conv2d_backward_outputs(grad_output: Tensor, input: Tensor, weight: Tensor,
                             stride: Sequence[int], padding: Sequence[int],
                             dilation: Sequence[int], groups: int, need_input: bool,
                             need_weight: bool, need_bias: bool):
    op = "pykernels::conv2d_backward"
    expect_dim(grad_output, 4, op, "grad_output")
    expect_dim(input, 4, op, "input")
    expect_dim(weight, 4, op, "weight")
    dx = empty(input.shape, like=grad_output) if need_input else none_output(grad_output)
    dw = empty(weight.shape, like=grad_output) if need_weight else none_output(grad_output)
    db = empty((weight.shape[0],), like=grad_output) if need_bias else none_output(grad_output)
    return dx, dw, db


def _conv2d_backward(grad_output: Tensor, input: Tensor, weight: Tensor, stride: Sequence[int],
                    padding: Sequence[int], dilation: Sequence[int], groups: int,
                    need_input: bool, need_weight: bool, need_bias: bool
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """(grad_input, grad_weight, grad_bias) of conv2d; a 0-element tensor where not needed."""
    dx, dw, db = _conv2d_backward_outputs(grad_output, input, weight, stride, padding, dilation,
                                          groups, need_input, need_weight, need_bias)
    call(_C.conv2d_backward, "pykernels::conv2d_backward", *_params(stride, padding, dilation),
         groups, dy=grad_output, x=input if need_weight else None,
         w=weight if need_input else None, dx=dx if need_input else None,
         dw=dw if need_weight else None, db=db if need_bias else None)
    return dx, dw, db


conv2d_backward = torch.library.custom_op("pykernels::conv2d_backward", mutates_args=(),
                                          schema=_BACKWARD_SCHEMA)(_conv2d_backward)
conv2d_backward.register_fake(_conv2d_backward_outputs)
conv2d_backward_fast = fast_path(conv2d_backward, _conv2d_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save input only if weight needs a gradient, weight only if input does; keep the
    shapes (not tensors) for the placeholders of the others."""
    input, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    # Conv2dFunction.apply may leave out the trailing arguments, or give ints.
    args = (tuple(inputs[3:7]) + (1, 0, 1, 1)[len(inputs[3:7]):])
    op = "pykernels::conv2d"
    stride, padding, dilation = (_pair(args[0], op, "stride"), _pair(args[1], op, "padding"),
                                 _pair(args[2], op, "dilation"))
    groups = args[3]
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    ctx.save_for_backward(input if need_w else None, weight if need_x else None)
    ctx.input_shape, ctx.weight_shape = tuple(input.shape), tuple(weight.shape)
    ctx.conv_args = (stride, padding, dilation, groups)
    ctx.has_bias = bias is not None


def backward(ctx, grad_output: Tensor):
    input, weight = ctx.saved_tensors
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    need_b = ctx.has_bias and len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]
    if input is None:  # only its shape is used: a zero-stride placeholder, no memory
        input = grad_output.new_zeros(()).expand(ctx.input_shape)
    if weight is None:
        weight = grad_output.new_zeros(()).expand(ctx.weight_shape)
    dx, dw, db = conv2d_backward_fast(grad_output, input, weight, *ctx.conv_args, need_x,
                                      need_w, need_b)
    grads = (dx if need_x else None, dw if need_w else None, db if need_b else None)
    return (grads + (None,) * 4)[:len(ctx.needs_input_grad)]


conv2d.register_autograd(backward, setup_context=setup_context)
# Eager callers (functional.conv2d) skip the dispatcher when nothing needs it: _glue.fast_path.
conv2d_fast = fast_path(conv2d, _conv2d, setup_context, backward)
