"""silu: the custom ops ``pykernels::silu`` and ``pykernels::silu_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.silu(input)   like torch.nn.functional.silu
    nn.SiLU()                 like torch.nn.SiLU
    autograd.SiluFunction.apply(input)

    silu(x) -> y                                   (any shape)
    silu_backward(grad_output, x) -> grad_input     (from its input x)

``silu_fast`` / ``silu_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _silu_outputs(x: Tensor) -> Tensor:
    return empty_like(x)


def _silu(x: Tensor) -> Tensor:
    """y = silu(x), element-wise."""
    y = _silu_outputs(x)
    call(_C.silu_forward, "pykernels::silu", x=x, y=y)
    return y


silu = torch.library.custom_op("pykernels::silu", mutates_args=())(_silu)
silu.register_fake(_silu_outputs)

# ----------------------------------------------------------------- backward


def _silu_backward_outputs(grad_output: Tensor, x: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::silu_backward")
    return empty_like(grad_output)


def _silu_backward(grad_output: Tensor, x: Tensor) -> Tensor:
    """grad_input = grad_output * dsilu/dx, from its input x."""
    dx = _silu_backward_outputs(grad_output, x)
    call(_C.silu_backward, "pykernels::silu_backward", dy=grad_output, x=x, dx=dx)
    return dx


silu_backward = torch.library.custom_op("pykernels::silu_backward", mutates_args=())(_silu_backward)
silu_backward.register_fake(_silu_backward_outputs)
silu_backward_fast = fast_path(silu_backward, _silu_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x,) = inputs
    ctx.params = ()
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = silu_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad,)


silu.register_autograd(backward, setup_context=setup_context)
silu_fast = fast_path(silu, _silu, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_silu(input: Tensor, inplace: bool = False) -> Tensor:
    """silu(input) element-wise, like torch.nn.functional.silu (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); when a gradient is needed the backward gets a copy of the
    input taken before (as torch's in-place ops keep ``original_self``), so it
    trains as torch's in-place op does.
    """
    if not inplace:
        return silu_fast(input)
    keep = torch.is_grad_enabled() and input.requires_grad
    return input.copy_(silu_fast(input.clone() if keep else input))


functional_silu.__name__ = functional_silu.__qualname__ = "silu"


class SiLU(torch.nn.SiLU):
    """torch.nn.SiLU() on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_silu(input, self.inplace)


class SiluFunction(torch.autograd.Function):
    """y = silu(input), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return silu(input)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "silu", functional=functional_silu, module=SiLU, function=SiluFunction,
    elementwise=_registry.Elementwise(
        forward=silu, backward=silu_backward, params={},
        saves="x", torch_functional=torch.nn.functional.silu),
)
