"""tanh: the custom ops ``pykernels::tanh`` and ``pykernels::tanh_backward``, and the
public API built on them (exported by pykernels.torch through _registry):

    functional.tanh(input)              like torch.nn.functional.tanh
    nn.Tanh()                           like torch.nn.Tanh
    autograd.TanhFunction.apply(input)

    tanh(x) -> tanh(x)                                                   (any shape)
    tanh_backward(grad_output, output) -> grad_output * (1 - output^2)

As in torch, tanh differentiates from its OUTPUT. ``tanh_fast`` /
``tanh_backward_fast`` run the kernels without the dispatcher in plain eager
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


def _tanh(x: Tensor) -> Tensor:
    """y = tanh(x), element-wise."""
    y = _like(x)
    call(_C.tanh_forward, "pykernels::tanh", x=x, y=y)
    return y


tanh = torch.library.custom_op("pykernels::tanh", mutates_args=())(_tanh)
tanh.register_fake(_like)

# ----------------------------------------------------------------- backward


def _tanh_backward_outputs(grad_output: Tensor, output: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", output, "output", "pykernels::tanh_backward")
    return empty_like(grad_output)


def _tanh_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_input = grad_output * (1 - output^2)."""
    dx = _tanh_backward_outputs(grad_output, output)
    call(_C.tanh_backward, "pykernels::tanh_backward", dy=grad_output, y=output, dx=dx)
    return dx


tanh_backward = torch.library.custom_op("pykernels::tanh_backward", mutates_args=())(_tanh_backward)
tanh_backward.register_fake(_tanh_backward_outputs)
tanh_backward_fast = fast_path(tanh_backward, _tanh_backward)

# ----------------------------------------------------------------- autograd


def tanh_setup_context(ctx, inputs, output) -> None:
    """Save the output, and only when x needs a gradient."""
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def tanh_grad(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    return tanh_backward_fast(grad_output, output) if ctx.needs_input_grad[0] else None


tanh.register_autograd(tanh_grad, setup_context=tanh_setup_context)
# The C++ autograd node (torch_ext/elementwise.cpp) in plain eager mode, where built.
tanh_fast = fast_path(tanh, _tanh, tanh_setup_context, tanh_grad,
                      node=elementwise_node("tanh", 0, True, tanh_backward_fast))

# ------------------------------------------------------------- public API


def functional_tanh(input: Tensor) -> Tensor:
    """tanh(input) element-wise, like torch.nn.functional.tanh (any shape)."""
    return tanh_fast(input)


functional_tanh.__name__ = functional_tanh.__qualname__ = "tanh"


class Tanh(torch.nn.Tanh):
    """torch.nn.Tanh() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_tanh(input)


class TanhFunction(torch.autograd.Function):
    """y = tanh(input), any shape; backward from y."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return tanh(input)

    setup_context = staticmethod(tanh_setup_context)
    backward = staticmethod(tanh_grad)


_registry.add(
    "tanh", functional=functional_tanh, module=Tanh, function=TanhFunction,
    elementwise=_registry.Elementwise(forward=tanh, backward=tanh_backward, saves="output",
                                      torch_functional=torch.tanh),
)
