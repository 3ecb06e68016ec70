"""mish: the custom ops ``pykernels::mish`` and ``pykernels::mish_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.mish(input)   like torch.nn.functional.mish
    nn.Mish()                 like torch.nn.Mish
    autograd.MishFunction.apply(input)

    mish(x) -> y                                   (any shape)
    mish_backward(grad_output, x) -> grad_input     (from its input x)

``mish_fast`` / ``mish_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _mish_outputs(x: Tensor) -> Tensor:
    return empty_like(x)


def _mish(x: Tensor) -> Tensor:
    """y = mish(x), element-wise."""
    y = _mish_outputs(x)
    call(_C.mish_forward, "pykernels::mish", x=x, y=y)
    return y


mish = torch.library.custom_op("pykernels::mish", mutates_args=())(_mish)
mish.register_fake(_mish_outputs)

# ----------------------------------------------------------------- backward


def _mish_backward_outputs(grad_output: Tensor, x: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::mish_backward")
    return empty_like(grad_output)


def _mish_backward(grad_output: Tensor, x: Tensor) -> Tensor:
    """grad_input = grad_output * dmish/dx, from its input x."""
    dx = _mish_backward_outputs(grad_output, x)
    call(_C.mish_backward, "pykernels::mish_backward", dy=grad_output, x=x, dx=dx)
    return dx


mish_backward = torch.library.custom_op("pykernels::mish_backward", mutates_args=())(_mish_backward)
mish_backward.register_fake(_mish_backward_outputs)
mish_backward_fast = fast_path(mish_backward, _mish_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x,) = inputs
    ctx.params = ()
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = mish_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad,)


mish.register_autograd(backward, setup_context=setup_context)
mish_fast = fast_path(mish, _mish, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_mish(input: Tensor, inplace: bool = False) -> Tensor:
    """mish(input) element-wise, like torch.nn.functional.mish (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); when a gradient is needed the backward gets a copy of the
    input taken before (as torch's in-place ops keep ``original_self``), so it
    trains as torch's in-place op does.
    """
    if not inplace:
        return mish_fast(input)
    keep = torch.is_grad_enabled() and input.requires_grad
    return input.copy_(mish_fast(input.clone() if keep else input))


functional_mish.__name__ = functional_mish.__qualname__ = "mish"


class Mish(torch.nn.Mish):
    """torch.nn.Mish() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_mish(input, self.inplace)


class MishFunction(torch.autograd.Function):
    """y = mish(input), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return mish(input)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "mish", functional=functional_mish, module=Mish, function=MishFunction,
    elementwise=_registry.Elementwise(
        forward=mish, backward=mish_backward, params={},
        saves="x", torch_functional=torch.nn.functional.mish),
)
