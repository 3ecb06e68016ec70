"""gelu: the custom ops ``pykernels::gelu`` and ``pykernels::gelu_backward``, and the
public API built on them (exported by pykernels.torch through _registry):

    functional.gelu(input, approximate='none')   like torch.nn.functional.gelu
    nn.GELU(approximate='none')                  like torch.nn.GELU
    autograd.GELUFunction.apply(input, approximate='none')

    gelu(x, approximate='none') -> x Phi(x)  ('tanh': the tanh approximation)
    gelu_backward(grad_output, x, approximate) -> grad_output * gelu'(x)

Any shape and strides; the backward is from x. ``gelu_fast`` /
``gelu_backward_fast`` run the kernels without the dispatcher in plain eager mode
(_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from ...ops.gelu import _gelu_code
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _gelu_outputs(x: Tensor, approximate: str = "none") -> Tensor:
    _gelu_code(approximate, "pykernels::gelu")
    return empty_like(x)


def _gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU: x Phi(x) ('none') or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ('tanh')."""
    y = _gelu_outputs(x, approximate)
    call(_C.gelu_forward, "pykernels::gelu", _gelu_code(approximate, "pykernels::gelu"), x=x, y=y)
    return y


gelu = torch.library.custom_op("pykernels::gelu", mutates_args=())(_gelu)
gelu.register_fake(_gelu_outputs)

# ----------------------------------------------------------------- backward


def _gelu_backward_outputs(grad_output: Tensor, x: Tensor, approximate: str) -> Tensor:
    op = "pykernels::gelu_backward"
    _gelu_code(approximate, op)
    expect_same_shape(grad_output, "grad_output", x, "x", op)
    return empty_like(grad_output)


def _gelu_backward(grad_output: Tensor, x: Tensor, approximate: str) -> Tensor:
    """grad_input = grad_output * gelu'(x) (torch's gelu_backward formulas)."""
    op = "pykernels::gelu_backward"
    dx = _gelu_backward_outputs(grad_output, x, approximate)
    call(_C.gelu_backward, op, _gelu_code(approximate, op), dy=grad_output, x=x, dx=dx)
    return dx


gelu_backward = torch.library.custom_op("pykernels::gelu_backward", mutates_args=())(_gelu_backward)
gelu_backward.register_fake(_gelu_backward_outputs)
gelu_backward_fast = fast_path(gelu_backward, _gelu_backward)

# ----------------------------------------------------------------- autograd


def gelu_setup_context(ctx, inputs, output) -> None:
    """Save x, and only when x needs a gradient."""
    ctx.approximate = inputs[1] if len(inputs) > 1 else "none"
    ctx.save_for_backward(inputs[0] if ctx.needs_input_grad[0] else None)


def gelu_grad(ctx, grad_output: Tensor):
    (x,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None
    return gelu_backward_fast(grad_output, x, ctx.approximate), None


gelu.register_autograd(gelu_grad, setup_context=gelu_setup_context)
gelu_fast = fast_path(gelu, _gelu, gelu_setup_context, gelu_grad)

# ------------------------------------------------------------- public API


def functional_gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU like torch.nn.functional.gelu: approximate='none' (erf) or 'tanh'."""
    return gelu_fast(input, approximate)


functional_gelu.__name__ = functional_gelu.__qualname__ = "gelu"


class GELU(torch.nn.GELU):
    """torch.nn.GELU(approximate='none') on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_gelu(input, approximate=self.approximate)


class GELUFunction(torch.autograd.Function):
    """GELU, approximate='none' | 'tanh', any shape; backward from input."""

    @staticmethod
    def forward(input: Tensor, approximate: str = "none") -> Tensor:
        return gelu(input, approximate)

    setup_context = staticmethod(gelu_setup_context)
    backward = staticmethod(gelu_grad)


_registry.add("gelu", functional=functional_gelu, module=GELU, function=GELUFunction)
