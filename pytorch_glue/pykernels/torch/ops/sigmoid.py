"""sigmoid: the custom ops ``pykernels::sigmoid`` and ``pykernels::sigmoid_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.sigmoid(input)              like torch.nn.functional.sigmoid
    nn.Sigmoid()                           like torch.nn.Sigmoid
    autograd.SigmoidFunction.apply(input)

    sigmoid(x) -> 1 / (1 + exp(-x))                                      (any shape)
    sigmoid_backward(grad_output, output) -> grad_output * (1 - output) * output

As in torch, sigmoid differentiates from its OUTPUT. ``sigmoid_fast`` /
``sigmoid_backward_fast`` run the kernels without the dispatcher in plain eager
mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, elementwise_node, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _like(x: Tensor) -> Tensor:
    return empty_like(x)


def _sigmoid(x: Tensor) -> Tensor:
    """y = 1 / (1 + exp(-x)), element-wise (no overflow for any x)."""
    y = _like(x)
    call(_C.sigmoid_forward, "pykernels::sigmoid", x=x, y=y)
    return y


sigmoid = torch.library.custom_op("pykernels::sigmoid", mutates_args=())(_sigmoid)
sigmoid.register_fake(_like)

# ----------------------------------------------------------------- backward


def _sigmoid_backward_outputs(grad_output: Tensor, output: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", output, "output", "pykernels::sigmoid_backward")
    return empty_like(grad_output)


def _sigmoid_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_input = grad_output * (1 - output) * output."""
    dx = _sigmoid_backward_outputs(grad_output, output)
    call(_C.sigmoid_backward, "pykernels::sigmoid_backward", dy=grad_output, y=output, dx=dx)
    return dx


sigmoid_backward = torch.library.custom_op("pykernels::sigmoid_backward", mutates_args=())(_sigmoid_backward)
sigmoid_backward.register_fake(_sigmoid_backward_outputs)
sigmoid_backward_fast = fast_path(sigmoid_backward, _sigmoid_backward)

# ----------------------------------------------------------------- autograd


def sigmoid_setup_context(ctx, inputs, output) -> None:
    """Save the output, and only when x needs a gradient."""
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def sigmoid_grad(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    return sigmoid_backward_fast(grad_output, output) if ctx.needs_input_grad[0] else None


sigmoid.register_autograd(sigmoid_grad, setup_context=sigmoid_setup_context)
# The C++ autograd node (torch_ext/elementwise.cpp) in plain eager mode, where built.
sigmoid_fast = fast_path(sigmoid, _sigmoid, sigmoid_setup_context, sigmoid_grad,
                         node=elementwise_node("sigmoid", 0, True, sigmoid_backward_fast))

# ------------------------------------------------------------- public API


def functional_sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)) element-wise, like torch.nn.functional.sigmoid (any shape)."""
    return sigmoid_fast(input)


functional_sigmoid.__name__ = functional_sigmoid.__qualname__ = "sigmoid"


class Sigmoid(torch.nn.Sigmoid):
    """torch.nn.Sigmoid() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_sigmoid(input)


class SigmoidFunction(torch.autograd.Function):
    """y = 1 / (1 + exp(-input)), any shape; backward from y."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return sigmoid(input)

    setup_context = staticmethod(sigmoid_setup_context)
    backward = staticmethod(sigmoid_grad)


_registry.add(
    "sigmoid", functional=functional_sigmoid, module=Sigmoid, function=SigmoidFunction,
    elementwise=_registry.Elementwise(forward=sigmoid, backward=sigmoid_backward, saves="output",
                                      torch_functional=torch.sigmoid),
)
