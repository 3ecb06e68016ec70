"""leaky_relu: the custom ops ``pykernels::leaky_relu`` and
``pykernels::leaky_relu_backward``, and the public API built on them (exported by
pykernels.torch through _registry):

    functional.leaky_relu(input, negative_slope=0.01, inplace=False)
                                        like torch.nn.functional.leaky_relu
    nn.LeakyReLU(negative_slope=0.01, inplace=False)   like torch.nn.LeakyReLU
    autograd.LeakyReLUFunction.apply(input, negative_slope=0.01)

    leaky_relu(x, negative_slope, inplace=False) -> x > 0 ? x : negative_slope * x
    leaky_relu_backward(grad_output, self, negative_slope, self_is_result)
        -> self > 0 ? grad_output : negative_slope * grad_output

Any shape and strides. As in torch, leaky_relu differentiates from its input, or
from its output when ``inplace`` (the caller then overwrites x with the result, as
functional.leaky_relu(inplace=True) does; torch's rule applies: a negative slope
then fails in backward). ``leaky_relu_fast`` / ``leaky_relu_backward_fast`` run the
kernels without the dispatcher in plain eager mode (_glue.fast_path); compile,
export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _leaky_relu_outputs(x: Tensor, negative_slope: float, inplace: bool = False) -> Tensor:
    return empty_like(x)


def _leaky_relu(x: Tensor, negative_slope: float, inplace: bool = False) -> Tensor:
    """y = x > 0 ? x : negative_slope * x. ``inplace`` only changes what autograd saves
    (the result instead of x, for a caller that overwrites x with y)."""
    y = _leaky_relu_outputs(x, negative_slope, inplace)
    call(_C.leaky_relu_forward, "pykernels::leaky_relu", float(negative_slope), x=x, y=y)
    return y


leaky_relu = torch.library.custom_op("pykernels::leaky_relu", mutates_args=())(_leaky_relu)
leaky_relu.register_fake(_leaky_relu_outputs)

# ----------------------------------------------------------------- backward


def _leaky_relu_backward_outputs(grad_output: Tensor, self: Tensor, negative_slope: float,
                                 self_is_result: bool) -> Tensor:
    expect_same_shape(grad_output, "grad_output", self, "self", "pykernels::leaky_relu_backward")
    return empty_like(grad_output)


def _leaky_relu_backward(grad_output: Tensor, self: Tensor, negative_slope: float,
                        self_is_result: bool) -> Tensor:
    """grad_input = self > 0 ? grad_output : negative_slope * grad_output (torch's
    leaky_relu_backward; self_is_result with a negative slope raises KernelError)."""
    dx = _leaky_relu_backward_outputs(grad_output, self, negative_slope, self_is_result)
    call(_C.leaky_relu_backward, "pykernels::leaky_relu_backward", float(negative_slope),
         bool(self_is_result), dy=grad_output, self=self, dx=dx)
    return dx


leaky_relu_backward = torch.library.custom_op("pykernels::leaky_relu_backward", mutates_args=())(_leaky_relu_backward)
leaky_relu_backward.register_fake(_leaky_relu_backward_outputs)
leaky_relu_backward_fast = fast_path(leaky_relu_backward, _leaky_relu_backward)

# ----------------------------------------------------------------- autograd


def leaky_relu_setup_context(ctx, inputs, output) -> None:
    """Save x (or the result, for in-place callers), only when x needs a gradient."""
    x = inputs[0]
    ctx.negative_slope = inputs[1] if len(inputs) > 1 else 0.01
    ctx.self_is_result = bool(inputs[2]) if len(inputs) > 2 else False
    saved = output if ctx.self_is_result else x
    ctx.save_for_backward(saved if ctx.needs_input_grad[0] else None)


def leaky_relu_grad(ctx, grad_output: Tensor):
    (saved,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None, None
    return leaky_relu_backward_fast(grad_output, saved, ctx.negative_slope, ctx.self_is_result), None, None


leaky_relu.register_autograd(leaky_relu_grad, setup_context=leaky_relu_setup_context)
leaky_relu_fast = fast_path(leaky_relu, _leaky_relu, leaky_relu_setup_context, leaky_relu_grad)

# ------------------------------------------------------------- public API


def functional_leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input > 0 ? input : negative_slope * input, like torch.nn.functional.leaky_relu.

    ``inplace=True`` computes out of place, copies the result into ``input`` and returns
    ``input`` (autograd differentiates from the result, as torch's leaky_relu_ does; with
    a negative slope its backward raises, as torch's).
    """
    result = leaky_relu_fast(input, float(negative_slope), inplace)
    return input.copy_(result) if inplace else result


functional_leaky_relu.__name__ = functional_leaky_relu.__qualname__ = "leaky_relu"


class LeakyReLU(torch.nn.LeakyReLU):
    """torch.nn.LeakyReLU(negative_slope=0.01, inplace=False) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_leaky_relu(input, self.negative_slope, self.inplace)


class LeakyReLUFunction(torch.autograd.Function):
    """y = input > 0 ? input : negative_slope * input, any shape; backward from input."""

    @staticmethod
    def forward(input: Tensor, negative_slope: float = 0.01) -> Tensor:
        return leaky_relu(input, negative_slope)

    setup_context = staticmethod(leaky_relu_setup_context)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        return leaky_relu_grad(ctx, grad_output)[:2]


_registry.add("leaky_relu", functional=functional_leaky_relu, module=LeakyReLU,
              function=LeakyReLUFunction)
