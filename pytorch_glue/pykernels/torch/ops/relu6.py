"""relu6: the custom ops ``pykernels::relu6`` and ``pykernels::relu6_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.relu6(input)   like torch.nn.functional.relu6
    nn.ReLU6()                 like torch.nn.ReLU6
    autograd.Relu6Function.apply(input)

    relu6(x) -> y                                   (any shape)
    relu6_backward(grad_output, output) -> grad_input     (from its output y)

``relu6_fast`` / ``relu6_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _relu6_outputs(x: Tensor) -> Tensor:
    return empty_like(x)


def _relu6(x: Tensor) -> Tensor:
    """y = relu6(x), element-wise."""
    y = _relu6_outputs(x)
    call(_C.relu6_forward, "pykernels::relu6", x=x, y=y)
    return y


relu6 = torch.library.custom_op("pykernels::relu6", mutates_args=())(_relu6)
relu6.register_fake(_relu6_outputs)

# ----------------------------------------------------------------- backward


def _relu6_backward_outputs(grad_output: Tensor, output: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", output, "output", "pykernels::relu6_backward")
    return empty_like(grad_output)


def _relu6_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_input = grad_output * drelu6/dx, from its output y."""
    dx = _relu6_backward_outputs(grad_output, output)
    call(_C.relu6_backward, "pykernels::relu6_backward", dy=grad_output, y=output, dx=dx)
    return dx


relu6_backward = torch.library.custom_op("pykernels::relu6_backward", mutates_args=())(_relu6_backward)
relu6_backward.register_fake(_relu6_backward_outputs)
relu6_backward_fast = fast_path(relu6_backward, _relu6_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x,) = inputs
    ctx.params = ()
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    grad = relu6_backward_fast(grad_output, output, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad,)


relu6.register_autograd(backward, setup_context=setup_context)
relu6_fast = fast_path(relu6, _relu6, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(input) element-wise, like torch.nn.functional.relu6 (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); the backward takes the output, which the copy leaves intact,
    so it trains as torch's in-place op does.
    """
    result = relu6_fast(input)
    return input.copy_(result) if inplace else result


functional_relu6.__name__ = functional_relu6.__qualname__ = "relu6"


class ReLU6(torch.nn.ReLU6):
    """torch.nn.ReLU6() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_relu6(input, self.inplace)


class Relu6Function(torch.autograd.Function):
    """y = relu6(input), any shape; backward from its output y."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return relu6(input)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "relu6", functional=functional_relu6, module=ReLU6, function=Relu6Function,
    elementwise=_registry.Elementwise(
        forward=relu6, backward=relu6_backward, params={},
        saves="output", torch_functional=torch.nn.functional.relu6),
)
