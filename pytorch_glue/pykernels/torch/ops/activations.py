"""Activations: ``pykernels::sigmoid``, ``pykernels::tanh``, ``pykernels::leaky_relu``,
``pykernels::gelu`` and their ``*_backward`` ops.

    sigmoid(x) -> 1 / (1 + exp(-x))
    sigmoid_backward(grad_output, output) -> grad_output * (1 - output) * output
    tanh(x) -> tanh(x)
    tanh_backward(grad_output, output) -> grad_output * (1 - output^2)
    leaky_relu(x, negative_slope, inplace=False) -> x > 0 ? x : negative_slope * x
    leaky_relu_backward(grad_output, self, negative_slope, self_is_result)
        -> self > 0 ? grad_output : negative_slope * grad_output
    gelu(x, approximate='none') -> x Phi(x)  ('tanh': the tanh approximation)
    gelu_backward(grad_output, x, approximate) -> grad_output * gelu'(x)

All element-wise, any shape and strides. As in torch, sigmoid and tanh differentiate
from their OUTPUT; leaky_relu from its input, or from its output when ``inplace``
(the caller then overwrites x with the result, as functional.leaky_relu(inplace=True)
does; torch's rule applies: a negative slope then fails in backward); gelu from x.

``<op>_fast`` are the same ops for eager callers: they run the kernels without the
dispatcher when nothing needs it (see _glue.fast_path).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C, _gelu_code
from .._glue import call, empty_like, expect_same_shape, fast_path


def _like(x: Tensor) -> Tensor:
    return empty_like(x)


def _backward_outputs(op: str, saved_name: str):
    def outputs(grad_output: Tensor, saved: Tensor, *args) -> Tensor:
        expect_same_shape(grad_output, "grad_output", saved, saved_name, op)
        return empty_like(grad_output)
    return outputs


# ------------------------------------------------------------------ sigmoid


def _sigmoid(x: Tensor) -> Tensor:
    """y = 1 / (1 + exp(-x)), element-wise (no overflow for any x)."""
    y = _like(x)
    call(_C.sigmoid_forward, "pykernels::sigmoid", x=x, y=y)
    return y


sigmoid = torch.library.custom_op("pykernels::sigmoid", mutates_args=())(_sigmoid)
sigmoid.register_fake(_like)
_sigmoid_backward_outputs = _backward_outputs("pykernels::sigmoid_backward", "output")


def _sigmoid_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_input = grad_output * (1 - output) * output."""
    dx = _sigmoid_backward_outputs(grad_output, output)
    call(_C.sigmoid_backward, "pykernels::sigmoid_backward", dy=grad_output, y=output, dx=dx)
    return dx


sigmoid_backward = torch.library.custom_op("pykernels::sigmoid_backward", mutates_args=())(_sigmoid_backward)
sigmoid_backward.register_fake(_sigmoid_backward_outputs)
sigmoid_backward_fast = fast_path(sigmoid_backward, _sigmoid_backward)


def sigmoid_setup_context(ctx, inputs, output) -> None:
    """Save the output, and only when x needs a gradient."""
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def sigmoid_grad(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    return sigmoid_backward_fast(grad_output, output) if ctx.needs_input_grad[0] else None


sigmoid.register_autograd(sigmoid_grad, setup_context=sigmoid_setup_context)
sigmoid_fast = fast_path(sigmoid, _sigmoid, sigmoid_setup_context, sigmoid_grad)

# --------------------------------------------------------------------- tanh


def _tanh(x: Tensor) -> Tensor:
    """y = tanh(x), element-wise."""
    y = _like(x)
    call(_C.tanh_forward, "pykernels::tanh", x=x, y=y)
    return y


tanh = torch.library.custom_op("pykernels::tanh", mutates_args=())(_tanh)
tanh.register_fake(_like)
_tanh_backward_outputs = _backward_outputs("pykernels::tanh_backward", "output")


def _tanh_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_input = grad_output * (1 - output^2)."""
    dx = _tanh_backward_outputs(grad_output, output)
    call(_C.tanh_backward, "pykernels::tanh_backward", dy=grad_output, y=output, dx=dx)
    return dx


tanh_backward = torch.library.custom_op("pykernels::tanh_backward", mutates_args=())(_tanh_backward)
tanh_backward.register_fake(_tanh_backward_outputs)
tanh_backward_fast = fast_path(tanh_backward, _tanh_backward)


def tanh_setup_context(ctx, inputs, output) -> None:
    """Save the output, and only when x needs a gradient."""
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def tanh_grad(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    return tanh_backward_fast(grad_output, output) if ctx.needs_input_grad[0] else None


tanh.register_autograd(tanh_grad, setup_context=tanh_setup_context)
tanh_fast = fast_path(tanh, _tanh, tanh_setup_context, tanh_grad)

# --------------------------------------------------------------- leaky_relu


def _leaky_relu_outputs(x: Tensor, negative_slope: float, inplace: bool = False) -> Tensor:
    return _like(x)


def _leaky_relu(x: Tensor, negative_slope: float, inplace: bool = False) -> Tensor:
    """y = x > 0 ? x : negative_slope * x. ``inplace`` only changes what autograd saves
    (the result instead of x, for a caller that overwrites x with y)."""
    y = _leaky_relu_outputs(x, negative_slope, inplace)
    call(_C.leaky_relu_forward, "pykernels::leaky_relu", float(negative_slope), x=x, y=y)
    return y


leaky_relu = torch.library.custom_op("pykernels::leaky_relu", mutates_args=())(_leaky_relu)
leaky_relu.register_fake(_leaky_relu_outputs)
_leaky_relu_backward_outputs = _backward_outputs("pykernels::leaky_relu_backward", "self")


def _leaky_relu_backward(grad_output: Tensor, self: Tensor, negative_slope: float,
                        self_is_result: bool) -> Tensor:
    """grad_input = self > 0 ? grad_output : negative_slope * grad_output (torch's
    leaky_relu_backward; self_is_result with a negative slope raises KernelError)."""
    dx = _leaky_relu_backward_outputs(grad_output, self)
    call(_C.leaky_relu_backward, "pykernels::leaky_relu_backward", float(negative_slope),
         bool(self_is_result), dy=grad_output, self=self, dx=dx)
    return dx


leaky_relu_backward = torch.library.custom_op("pykernels::leaky_relu_backward", mutates_args=())(_leaky_relu_backward)
leaky_relu_backward.register_fake(_leaky_relu_backward_outputs)
leaky_relu_backward_fast = fast_path(leaky_relu_backward, _leaky_relu_backward)


def leaky_relu_setup_context(ctx, inputs, output) -> None:
    """Save x (or the result, for in-place callers), only when x needs a gradient."""
    x = inputs[0]
    ctx.negative_slope = inputs[1] if len(inputs) > 1 else 0.01
    ctx.self_is_result = bool(inputs[2]) if len(inputs) > 2 else False
    saved = output if ctx.self_is_result else x
    ctx.save_for_backward(saved if ctx.needs_input_grad[0] else None)


def leaky_relu_grad(ctx, grad_output: Tensor):
    (saved,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None, None
    return leaky_relu_backward_fast(grad_output, saved, ctx.negative_slope, ctx.self_is_result), None, None


leaky_relu.register_autograd(leaky_relu_grad, setup_context=leaky_relu_setup_context)
leaky_relu_fast = fast_path(leaky_relu, _leaky_relu, leaky_relu_setup_context, leaky_relu_grad)

# --------------------------------------------------------------------- gelu


def _gelu_outputs(x: Tensor, approximate: str = "none") -> Tensor:
    _gelu_code(approximate, "pykernels::gelu")
    return _like(x)


def _gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x Phi(x) ('none') or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ('tanh')."""
    y = _gelu_outputs(x, approximate)
    call(_C.gelu_forward, "pykernels::gelu", _gelu_code(approximate, "pykernels::gelu"), x=x, y=y)
    return y


gelu = torch.library.custom_op("pykernels::gelu", mutates_args=())(_gelu)
gelu.register_fake(_gelu_outputs)


def _gelu_backward_outputs(grad_output: Tensor, x: Tensor, approximate: str) -> Tensor:
    op = "pykernels::gelu_backward"
    _gelu_code(approximate, op)
    expect_same_shape(grad_output, "grad_output", x, "x", op)
    return empty_like(grad_output)


def _gelu_backward(grad_output: Tensor, x: Tensor, approximate: str) -> Tensor:
    """grad_input = grad_output * gelu'(x) (torch's gelu_backward formulas)."""
    op = "pykernels::gelu_backward"
    dx = _gelu_backward_outputs(grad_output, x, approximate)
    call(_C.gelu_backward, op, _gelu_code(approximate, op), dy=grad_output, x=x, dx=dx)
    return dx


gelu_backward = torch.library.custom_op("pykernels::gelu_backward", mutates_args=())(_gelu_backward)
gelu_backward.register_fake(_gelu_backward_outputs)
gelu_backward_fast = fast_path(gelu_backward, _gelu_backward)


def gelu_setup_context(ctx, inputs, output) -> None:
    """Save x, and only when x needs a gradient."""
    ctx.approximate = inputs[1] if len(inputs) > 1 else "none"
    ctx.save_for_backward(inputs[0] if ctx.needs_input_grad[0] else None)


def gelu_grad(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None
    return gelu_backward_fast(grad_output, x, ctx.approximate), None


gelu.register_autograd(gelu_grad, setup_context=gelu_setup_context)
gelu_fast = fast_path(gelu, _gelu, gelu_setup_context, gelu_grad)
