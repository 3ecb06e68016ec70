"""hardsigmoid: the custom ops ``pykernels::hardsigmoid`` and ``pykernels::hardsigmoid_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.hardsigmoid(input)   like torch.nn.functional.hardsigmoid
    nn.Hardsigmoid()                 like torch.nn.Hardsigmoid
    autograd.HardsigmoidFunction.apply(input)

    hardsigmoid(x) -> y                                   (any shape)
    hardsigmoid_backward(grad_output, x) -> grad_input     (from its input x)

``hardsigmoid_fast`` / ``hardsigmoid_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _hardsigmoid_outputs(x: Tensor) -> Tensor:
    return empty_like(x)


def _hardsigmoid(x: Tensor) -> Tensor:
    """y = hardsigmoid(x), element-wise."""
    y = _hardsigmoid_outputs(x)
    call(_C.hardsigmoid_forward, "pykernels::hardsigmoid", x=x, y=y)
    return y


hardsigmoid = torch.library.custom_op("pykernels::hardsigmoid", mutates_args=())(_hardsigmoid)
hardsigmoid.register_fake(_hardsigmoid_outputs)

# ----------------------------------------------------------------- backward


def _hardsigmoid_backward_outputs(grad_output: Tensor, x: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::hardsigmoid_backward")
    return empty_like(grad_output)


def _hardsigmoid_backward(grad_output: Tensor, x: Tensor) -> Tensor:
    """grad_input = grad_output * dhardsigmoid/dx, from its input x."""
    dx = _hardsigmoid_backward_outputs(grad_output, x)
    call(_C.hardsigmoid_backward, "pykernels::hardsigmoid_backward", dy=grad_output, x=x, dx=dx)
    return dx


hardsigmoid_backward = torch.library.custom_op("pykernels::hardsigmoid_backward", mutates_args=())(_hardsigmoid_backward)
hardsigmoid_backward.register_fake(_hardsigmoid_backward_outputs)
hardsigmoid_backward_fast = fast_path(hardsigmoid_backward, _hardsigmoid_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x,) = inputs
    ctx.params = ()
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = hardsigmoid_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad,)


hardsigmoid.register_autograd(backward, setup_context=setup_context)
hardsigmoid_fast = fast_path(hardsigmoid, _hardsigmoid, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """hardsigmoid(input) element-wise, like torch.nn.functional.hardsigmoid (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); when a gradient is needed the backward gets a copy of the
    input taken before (as torch's in-place ops keep ``original_self``), so it
    trains as torch's in-place op does.
    """
    if not inplace:
        return hardsigmoid_fast(input)
    keep = torch.is_grad_enabled() and input.requires_grad
    return input.copy_(hardsigmoid_fast(input.clone() if keep else input))


functional_hardsigmoid.__name__ = functional_hardsigmoid.__qualname__ = "hardsigmoid"


class Hardsigmoid(torch.nn.Hardsigmoid):
    """torch.nn.Hardsigmoid() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_hardsigmoid(input, self.inplace)


class HardsigmoidFunction(torch.autograd.Function):
    """y = hardsigmoid(input), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return hardsigmoid(input)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "hardsigmoid", functional=functional_hardsigmoid, module=Hardsigmoid, function=HardsigmoidFunction,
    elementwise=_registry.Elementwise(
        forward=hardsigmoid, backward=hardsigmoid_backward, params={},
        saves="x", torch_functional=torch.nn.functional.hardsigmoid),
)
