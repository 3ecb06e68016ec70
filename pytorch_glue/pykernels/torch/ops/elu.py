"""elu: the custom ops ``pykernels::elu`` and ``pykernels::elu_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.elu(input, alpha: float = 1.0)   like torch.nn.functional.elu
    nn.ELU(alpha=1.0)                 like torch.nn.ELU
    autograd.EluFunction.apply(input, alpha)

    elu(x, alpha) -> y                                   (any shape)
    elu_backward(grad_output, x, alpha) -> grad_input     (from its input x)

``elu_fast`` / ``elu_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _elu_outputs(x: Tensor, alpha: float) -> Tensor:
    return empty_like(x)


def _elu(x: Tensor, alpha: float) -> Tensor:
    """y = elu(x; alpha), element-wise."""
    y = _elu_outputs(x, alpha)
    call(_C.elu_forward, "pykernels::elu", float(alpha), x=x, y=y)
    return y


elu = torch.library.custom_op("pykernels::elu", mutates_args=())(_elu)
elu.register_fake(_elu_outputs)

# ----------------------------------------------------------------- backward


def _elu_backward_outputs(grad_output: Tensor, x: Tensor, alpha: float) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::elu_backward")
    return empty_like(grad_output)


def _elu_backward(grad_output: Tensor, x: Tensor, alpha: float) -> Tensor:
    """grad_input = grad_output * delu/dx, from its input x."""
    dx = _elu_backward_outputs(grad_output, x, alpha)
    call(_C.elu_backward, "pykernels::elu_backward", float(alpha), dy=grad_output, x=x, dx=dx)
    return dx


elu_backward = torch.library.custom_op("pykernels::elu_backward", mutates_args=())(_elu_backward)
elu_backward.register_fake(_elu_backward_outputs)
elu_backward_fast = fast_path(elu_backward, _elu_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x, alpha,) = inputs
    ctx.params = (alpha,)
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = elu_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad, None,)


elu.register_autograd(backward, setup_context=setup_context)
elu_fast = fast_path(elu, _elu, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """elu(input; alpha) element-wise, like torch.nn.functional.elu (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); when a gradient is needed the backward gets a copy of the
    input taken before (as torch's in-place ops keep ``original_self``), so it
    trains as torch's in-place op does.
    """
    if not inplace:
        return elu_fast(input, float(alpha))
    keep = torch.is_grad_enabled() and input.requires_grad
    return input.copy_(elu_fast(input.clone() if keep else input, float(alpha)))


functional_elu.__name__ = functional_elu.__qualname__ = "elu"


class ELU(torch.nn.ELU):
    """torch.nn.ELU(alpha=1.0) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_elu(input, self.alpha, self.inplace)


class EluFunction(torch.autograd.Function):
    """y = elu(input; alpha), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor, alpha: float = 1.0) -> Tensor:
        return elu(input, float(alpha))

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "elu", functional=functional_elu, module=ELU, function=EluFunction,
    elementwise=_registry.Elementwise(
        forward=elu, backward=elu_backward, params={"alpha": 1.0},
        saves="x", torch_functional=torch.nn.functional.elu),
)
