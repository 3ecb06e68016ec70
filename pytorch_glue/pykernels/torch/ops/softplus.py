"""softplus: the custom ops ``pykernels::softplus`` and ``pykernels::softplus_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.softplus(input, beta: float = 1.0, threshold: float = 20.0)   like torch.nn.functional.softplus
    nn.Softplus(beta=1.0, threshold=20.0)                 like torch.nn.Softplus
    autograd.SoftplusFunction.apply(input, beta, threshold)

    softplus(x, beta, threshold) -> y                                   (any shape)
    softplus_backward(grad_output, x, beta, threshold) -> grad_input     (from its input x)

``softplus_fast`` / ``softplus_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _softplus_outputs(x: Tensor, beta: float, threshold: float) -> Tensor:
    return empty_like(x)


def _softplus(x: Tensor, beta: float, threshold: float) -> Tensor:
    """y = softplus(x; beta, threshold), element-wise."""
    y = _softplus_outputs(x, beta, threshold)
    call(_C.softplus_forward, "pykernels::softplus", float(beta), float(threshold), x=x, y=y)
    return y


softplus = torch.library.custom_op("pykernels::softplus", mutates_args=())(_softplus)
softplus.register_fake(_softplus_outputs)

# ----------------------------------------------------------------- backward


def _softplus_backward_outputs(grad_output: Tensor, x: Tensor, beta: float, threshold: float) -> Tensor:
    expect_same_shape(grad_output, "grad_output", x, "x", "pykernels::softplus_backward")
    return empty_like(grad_output)


def _softplus_backward(grad_output: Tensor, x: Tensor, beta: float, threshold: float) -> Tensor:
    """grad_input = grad_output * dsoftplus/dx, from its input x."""
    dx = _softplus_backward_outputs(grad_output, x, beta, threshold)
    call(_C.softplus_backward, "pykernels::softplus_backward", float(beta), float(threshold), dy=grad_output, x=x, dx=dx)
    return dx


softplus_backward = torch.library.custom_op("pykernels::softplus_backward", mutates_args=())(_softplus_backward)
softplus_backward.register_fake(_softplus_backward_outputs)
softplus_backward_fast = fast_path(softplus_backward, _softplus_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    x, beta, threshold = inputs
    ctx.params = (beta, threshold, )
    ctx.save_for_backward(x if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    grad = softplus_backward_fast(grad_output, x, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad, None, None,)


softplus.register_autograd(backward, setup_context=setup_context)
softplus_fast = fast_path(softplus, _softplus, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """softplus(input; beta, threshold) element-wise, like torch.nn.functional.softplus (any shape)."""
    return softplus_fast(input, float(beta), float(threshold))


functional_softplus.__name__ = functional_softplus.__qualname__ = "softplus"


class Softplus(torch.nn.Softplus):
    """torch.nn.Softplus(beta=1.0, threshold=20.0) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_softplus(input, self.beta, self.threshold)


class SoftplusFunction(torch.autograd.Function):
    """y = softplus(input; beta, threshold), any shape; backward from its input x."""

    @staticmethod
    def forward(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        return softplus(input, float(beta), float(threshold))

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "softplus", functional=functional_softplus, module=Softplus, function=SoftplusFunction,
    elementwise=_registry.Elementwise(
        forward=softplus, backward=softplus_backward, params={"beta": 1.0, "threshold": 20.0},
        saves="x", torch_functional=torch.nn.functional.softplus),
)
