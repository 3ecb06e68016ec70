"""Pieces shared by the 2-D pooling ops (pool2d.py: max/avg_pool2d,
adaptive_pool2d.py: adaptive_avg/max_pool2d) and their functional forms."""
from __future__ import annotations

from torch import Tensor

from ... import _shape_error
from .._glue import mark_non_differentiable


def batched(input: Tensor, op: str):
    """(N, C, H, W) as is, or an unbatched (C, H, W) with a batch dim of 1."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a torch.Tensor, got {type(input).__name__}")
    if input.dim() not in (3, 4):
        raise _shape_error(f"{op}: input: expected a 3-D (C, H, W) or 4-D (N, C, H, W) tensor, "
                           f"got shape {tuple(input.shape)}")
    return (input, False) if input.dim() == 4 else (input.unsqueeze(0), True)


def save_max_indices(ctx, output) -> None:
    """The max pools' (y, indices) output: indices are not differentiable (and get no
    zero-filled gradient: the backward's grad_output may be None); saved only when the
    input needs a gradient."""
    _, indices = output
    mark_non_differentiable(ctx, indices)
    ctx.save_for_backward(indices if ctx.needs_input_grad[0] else None)
