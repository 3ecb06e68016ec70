"""celu: the custom ops ``pykernels::celu`` and ``pykernels::celu_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.celu(input, alpha: float = 1.0)   like torch.nn.functional.celu
    nn.CELU(alpha=1.0)                 like torch.nn.CELU
    autograd.CeluFunction.apply(input, alpha)

    celu(x, alpha) -> y                                   (any shape)
    celu_backward(grad_output, x, alpha) -> grad_input     (from its input x)

``celu_fast`` / ``celu_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _celu_outputs(x: Tensor, alpha: float) -> Tensor:
    return empty_like(x)


def _celu(x: Tensor, alpha: float) -> Tensor:
    """y = celu(x; alpha), element-wise."""
    y = _celu_outputs(x, alpha)
    call(_C.celu_forward, "pykernels::celu", float(alpha), x=x, y=y)
    return y


celu = torch.library.custom_op("pykernels::celu", mutates_args=())(_celu)
celu.register_fake(_celu_outputs)

# ----------------------------------------------------------------- backward


def _celu_backward_outputs(grad_output: Tensor, x: Tensor, alpha: float) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::celu_backward")
    return empty_like(grad_output)


def _celu_backward(grad_output: Tensor, x: Tensor, alpha: float) -> Tensor:
    """grad_input = grad_output * dcelu/dx, from its input x."""
    dx = _celu_backward_outputs(grad_output, x, alpha)
    call(_C.celu_backward, "pykernels::celu_backward", float(alpha), dy=grad_output, x=x, dx=dx)
    return dx


celu_backward = torch.library.custom_op("pykernels::celu_backward", mutates_args=())(_celu_backward)
celu_backward.register_fake(_celu_backward_outputs)
celu_backward_fast = fast_path(celu_backward, _celu_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    x, alpha = inputs
    ctx.params = (alpha,)
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = celu_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad, None,)


celu.register_autograd(backward, setup_context=setup_context)
celu_fast = fast_path(celu, _celu, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """celu(input; alpha) element-wise, like torch.nn.functional.celu (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); when a gradient is needed the backward gets a copy of the
    input taken before (as torch's in-place ops keep ``original_self``), so it
    trains as torch's in-place op does.
    """
    if not inplace:
        return celu_fast(input, float(alpha))
    keep = torch.is_grad_enabled() and input.requires_grad
    return input.copy_(celu_fast(input.clone() if keep else input, float(alpha)))


functional_celu.__name__ = functional_celu.__qualname__ = "celu"


class CELU(torch.nn.CELU):
    """torch.nn.CELU(alpha=1.0) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_celu(input, self.alpha, self.inplace)


class CeluFunction(torch.autograd.Function):
    """y = celu(input; alpha), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor, alpha: float = 1.0) -> Tensor:
        return celu(input, float(alpha))

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "celu", functional=functional_celu, module=CELU, function=CeluFunction,
    elementwise=_registry.Elementwise(
        forward=celu, backward=celu_backward, params={"alpha": 1.0},
        saves="x", torch_functional=torch.nn.functional.celu),
)
