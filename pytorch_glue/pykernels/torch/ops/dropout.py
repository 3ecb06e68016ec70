"""Dropout: ``pykernels::dropout`` and ``pykernels::dropout_backward``.

    dropout(x, p, seed) -> (y, mask): mask (bool, x's shape) keeps each element with
        probability 1 - p; y = x * mask / (1 - p) (x * 0 for p = 1)
    dropout_backward(grad_output, mask, p) -> grad_output * mask / (1 - p)

``seed`` is a 0-d int64 tensor (on any device), so that drawing it from torch's
generator (``draw_seed``) is part of the traced graph under torch.compile. The mask
depends only on (seed, x.shape): Philox-4x32-10 on each element's row-major index,
identical on CPU and CUDA, for any strides.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C, _dropout_p
from .._glue import call, empty_like, expect_same_shape, fast_path, mark_non_differentiable


def draw_seed() -> Tensor:
    """A fresh seed from torch's default CPU generator (``torch.manual_seed`` makes it
    repeatable): a 0-d int64 tensor in [0, 2^62)."""
    return torch.randint(0, 2 ** 62, (), dtype=torch.int64)


def _dropout_outputs(x: Tensor, p: float, seed: Tensor):
    _dropout_p(p, "pykernels::dropout")
    return empty_like(x), torch.empty_like(x, dtype=torch.bool)


def _dropout(x: Tensor, p: float, seed: Tensor) -> tuple[Tensor, Tensor]:
    """(y, mask) of training-mode dropout with probability p and the given seed."""
    y, mask = _dropout_outputs(x, p, seed)
    call(_C.dropout_forward, "pykernels::dropout", float(p), int(seed.item()), x=x, y=y, mask=mask)
    return y, mask


dropout = torch.library.custom_op("pykernels::dropout", mutates_args=())(_dropout)
dropout.register_fake(_dropout_outputs)


def _dropout_backward_outputs(grad_output: Tensor, mask: Tensor, p: float) -> Tensor:
    op = "pykernels::dropout_backward"
    _dropout_p(p, op)
    expect_same_shape(grad_output, "grad_output", mask, "mask", op)
    return empty_like(grad_output)


def _dropout_backward(grad_output: Tensor, mask: Tensor, p: float) -> Tensor:
    """grad_input = grad_output * mask / (1 - p)."""
    dx = _dropout_backward_outputs(grad_output, mask, p)
    call(_C.dropout_backward, "pykernels::dropout_backward", float(p), dy=grad_output, mask=mask,
         dx=dx)
    return dx


dropout_backward = torch.library.custom_op("pykernels::dropout_backward", mutates_args=())(_dropout_backward)
dropout_backward.register_fake(_dropout_backward_outputs)
dropout_backward_fast = fast_path(dropout_backward, _dropout_backward)


def setup_context(ctx, inputs, output) -> None:
    """Save the mask, and only when x needs a gradient. The mask gets no gradient (autograd
    would fill a zeros tensor of its shape for every backward)."""
    ctx.p = inputs[1]
    mark_non_differentiable(ctx, output[1])
    ctx.save_for_backward(output[1] if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor, grad_mask):
    (mask,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0] or grad_output is None:  # None: mark_non_differentiable
        return None, None, None
    return dropout_backward_fast(grad_output, mask, ctx.p), None, None


dropout.register_autograd(backward, setup_context=setup_context)
dropout_fast = fast_path(dropout, _dropout, setup_context, backward)
