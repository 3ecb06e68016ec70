"""hardtanh: the custom ops ``pykernels::hardtanh`` and ``pykernels::hardtanh_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.hardtanh(input, min_val: float = -1.0, max_val: float = 1.0)   like torch.nn.functional.hardtanh
    nn.Hardtanh(min_val=-1.0, max_val=1.0)                 like torch.nn.Hardtanh
    autograd.HardtanhFunction.apply(input, min_val, max_val)

    hardtanh(x, min_val, max_val) -> y                                   (any shape)
    hardtanh_backward(grad_output, output, min_val, max_val) -> grad_input     (from its output y)

``hardtanh_fast`` / ``hardtanh_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _hardtanh_outputs(x: Tensor, min_val: float, max_val: float) -> Tensor:
    return empty_like(x)


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    """y = hardtanh(x; min_val, max_val), element-wise."""
    y = _hardtanh_outputs(x, min_val, max_val)
    call(_C.hardtanh_forward, "pykernels::hardtanh", float(min_val), float(max_val), x=x, y=y)
    return y


hardtanh = torch.library.custom_op("pykernels::hardtanh", mutates_args=())(_hardtanh)
hardtanh.register_fake(_hardtanh_outputs)

# ----------------------------------------------------------------- backward


def _hardtanh_backward_outputs(grad_output: Tensor, output: Tensor, min_val: float, max_val: float) -> Tensor:
    expect_same_shape(grad_output, "grad_output", output, "output", "pykernels::hardtanh_backward")
    return empty_like(grad_output)


def _hardtanh_backward(grad_output: Tensor, output: Tensor, min_val: float, max_val: float) -> Tensor:
    """grad_input = grad_output * dhardtanh/dx, from its output y."""
    dx = _hardtanh_backward_outputs(grad_output, output, min_val, max_val)
    call(_C.hardtanh_backward, "pykernels::hardtanh_backward", float(min_val), float(max_val), dy=grad_output, y=output, dx=dx)
    return dx


hardtanh_backward = torch.library.custom_op("pykernels::hardtanh_backward", mutates_args=())(_hardtanh_backward)
hardtanh_backward.register_fake(_hardtanh_backward_outputs)
hardtanh_backward_fast = fast_path(hardtanh_backward, _hardtanh_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x, min_val, max_val,) = inputs
    ctx.params = (min_val, max_val, )
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    grad = hardtanh_backward_fast(grad_output, output, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad, None, None,)


hardtanh.register_autograd(backward, setup_context=setup_context)
hardtanh_fast = fast_path(hardtanh, _hardtanh, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """hardtanh(input; min_val, max_val) element-wise, like torch.nn.functional.hardtanh (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returned); the backward takes the output, which the copy leaves intact,
    so it trains as torch's in-place op does.
    """
    result = hardtanh_fast(input, float(min_val), float(max_val))
    return input.copy_(result) if inplace else result


functional_hardtanh.__name__ = functional_hardtanh.__qualname__ = "hardtanh"


class Hardtanh(torch.nn.Hardtanh):
    """torch.nn.Hardtanh(min_val=-1.0, max_val=1.0) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_hardtanh(input, self.min_val, self.max_val, self.inplace)


class HardtanhFunction(torch.autograd.Function):
    """y = hardtanh(input; min_val, max_val), any shape; backward from its output y."""

    @staticmethod
    def forward(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
        return hardtanh(input, float(min_val), float(max_val))

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "hardtanh", functional=functional_hardtanh, module=Hardtanh, function=HardtanhFunction,
    elementwise=_registry.Elementwise(
        forward=hardtanh, backward=hardtanh_backward, params={"min_val": -1.0, "max_val": 1.0},
        saves="output", torch_functional=torch.nn.functional.hardtanh),
)
