"""hardswish: the custom ops ``pykernels::hardswish`` and ``pykernels::hardswish_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.hardswish(input)   like torch.nn.functional.hardswish
    nn.Hardswish()                 like torch.nn.Hardswish
    autograd.HardswishFunction.apply(input)

    hardswish(x) -> y                                   (any shape)
    hardswish_backward(grad_output, x) -> grad_input     (from its input x)

``hardswish_fast`` / ``hardswish_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _hardswish_outputs(x: Tensor) -> Tensor:
    return empty_like(x)


def _hardswish(x: Tensor) -> Tensor:
    """y = hardswish(x), element-wise."""
    y = _hardswish_outputs(x)
    call(_C.hardswish_forward, "pykernels::hardswish", x=x, y=y)
    return y


hardswish = torch.library.custom_op("pykernels::hardswish", mutates_args=())(_hardswish)
hardswish.register_fake(_hardswish_outputs)

# ----------------------------------------------------------------- backward


def _hardswish_backward_outputs(grad_output: Tensor, x: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::hardswish_backward")
    return empty_like(grad_output)


def _hardswish_backward(grad_output: Tensor, x: Tensor) -> Tensor:
    """grad_input = grad_output * dhardswish/dx, from its input x."""
    dx = _hardswish_backward_outputs(grad_output, x)
    call(_C.hardswish_backward, "pykernels::hardswish_backward", dy=grad_output, x=x, dx=dx)
    return dx


hardswish_backward = torch.library.custom_op("pykernels::hardswish_backward", mutates_args=())(_hardswish_backward)
hardswish_backward.register_fake(_hardswish_backward_outputs)
hardswish_backward_fast = fast_path(hardswish_backward, _hardswish_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x,) = inputs
    ctx.params = ()
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = hardswish_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad,)


hardswish.register_autograd(backward, setup_context=setup_context)
hardswish_fast = fast_path(hardswish, _hardswish, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """hardswish(input) element-wise, like torch.nn.functional.hardswish (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); when a gradient is needed the backward gets a copy of the
    input taken before (as torch's in-place ops keep ``original_self``), so it
    trains as torch's in-place op does.
    """
    if not inplace:
        return hardswish_fast(input)
    keep = torch.is_grad_enabled() and input.requires_grad
    return input.copy_(hardswish_fast(input.clone() if keep else input))


functional_hardswish.__name__ = functional_hardswish.__qualname__ = "hardswish"


class Hardswish(torch.nn.Hardswish):
    """torch.nn.Hardswish() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_hardswish(input, self.inplace)


class HardswishFunction(torch.autograd.Function):
    """y = hardswish(input), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return hardswish(input)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "hardswish", functional=functional_hardswish, module=Hardswish, function=HardswishFunction,
    elementwise=_registry.Elementwise(
        forward=hardswish, backward=hardswish_backward, params={},
        saves="x", torch_functional=torch.nn.functional.hardswish),
)
