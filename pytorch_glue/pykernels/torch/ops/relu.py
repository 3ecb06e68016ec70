"""ReLU: ``pykernels::relu`` and ``pykernels::relu_backward``.

    relu(x) -> y = max(x, 0)                           (any shape)
    relu_backward(grad_output, output) -> grad_input = grad_output * (output > 0)

The backward takes the forward's OUTPUT (as torch's threshold_backward does):
``output > 0`` exactly where ``x > 0``, and saving the output keeps autograd
correct when ``functional.relu(x, inplace=True)`` overwrites x.

``relu_fast`` / ``relu_backward_fast`` are the same ops for eager callers: they run
the kernels without the dispatcher when nothing needs it (see _glue.fast_path).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .._glue import call, elementwise_node, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _relu_outputs(x: Tensor) -> Tensor:
    return empty_like(x)


def _relu(x: Tensor) -> Tensor:
    """y = max(x, 0), element-wise; y has x's shape. NaN propagates."""
    y = _relu_outputs(x)
    call(_C.relu_forward, "pykernels::relu", x=x, y=y)
    return y


relu = torch.library.custom_op("pykernels::relu", mutates_args=())(_relu)
relu.register_fake(_relu_outputs)

# ----------------------------------------------------------------- backward


def _relu_backward_outputs(grad_output: Tensor, output: Tensor) -> Tensor:
    expect_same_shape(grad_output, "grad_output", output, "output", "pykernels::relu_backward")
    return empty_like(grad_output)


def _relu_backward(grad_output: Tensor, output: Tensor) -> Tensor:
    """grad_input = grad_output * (output > 0); all three of one shape."""
    dx = _relu_backward_outputs(grad_output, output)
    call(_C.relu_backward, "pykernels::relu_backward", dy=grad_output, x=output, dx=dx)
    return dx


relu_backward = torch.library.custom_op("pykernels::relu_backward", mutates_args=())(_relu_backward)
relu_backward.register_fake(_relu_backward_outputs)
relu_backward_fast = fast_path(relu_backward, _relu_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save the output, and only when x needs a gradient."""
    ctx.save_for_backward(output if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (output,) = ctx.saved_tensors
    return relu_backward_fast(grad_output, output) if ctx.needs_input_grad[0] else None


relu.register_autograd(backward, setup_context=setup_context)
# The C++ autograd node (torch_ext/elementwise.cpp) in plain eager mode, where built.
relu_fast = fast_path(relu, _relu, setup_context, backward,
                      node=elementwise_node("relu", 0, True, relu_backward_fast))
