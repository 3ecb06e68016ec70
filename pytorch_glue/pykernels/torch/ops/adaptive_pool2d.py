"""adaptive pooling: the custom ops ``pykernels::adaptive_avg_pool2d(_backward)`` and
``pykernels::adaptive_max_pool2d(_backward)``, and the public API built on them
(exported by pykernels.torch through _registry):

    functional.adaptive_avg_pool2d(input, output_size)     like torch.nn.functional's
    functional.adaptive_max_pool2d(input, output_size, return_indices=False)
    nn.AdaptiveAvgPool2d(output_size), nn.AdaptiveMaxPool2d(output_size, return_indices=False)
    autograd.AdaptiveAvgPool2dFunction.apply(input, output_size)
    autograd.AdaptiveMaxPool2dFunction.apply(input, output_size) -> (output, indices)

    adaptive_avg_pool2d(input:(N,C,H,W), output_size=(Ho,Wo)) -> output:(N,C,Ho,Wo)
    adaptive_avg_pool2d_backward(grad_output, input_size=(H,W)) -> grad_input
    adaptive_max_pool2d(input, output_size) -> (output, indices int64 flat h*W + w)
    adaptive_max_pool2d_backward(grad_output, indices, input_size) -> grad_input

output_size for functional / nn: an int, or a pair whose entries may be None (= the
input's size), as torch; the custom ops take the resolved pair. Empty dims as torch
(H, W >= 1; C >= 1 for max pooling and for both backwards): pykernels.ShapeError, in
the real and the fake kernels alike. Avg pooling saves no tensor; max pooling saves its
indices only when the input needs a gradient. ``*_fast``: the same ops without the
dispatcher in plain eager mode (see _glue.fast_path).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C, _shape_error
from ...ops.adaptive_pool2d import _adaptive_output_size
from .. import _registry
from .._glue import call, empty, expect_dim, fast_path
from ._pooling import batched, save_max_indices


def _nonempty(t: Tensor, first_dim: int, op: str, name: str) -> None:
    """torch's "Expected input to have non-zero size for non-batch dimensions"."""
    for d in range(first_dim, 4):
        if t.shape[d] == 0:
            raise _shape_error(f"{op}: {name}: expected a non-zero size in dims {first_dim}..3 "
                               f"(as torch), got shape {tuple(t.shape)} with dim {d} empty")


def _size(output_size, op: str) -> tuple:
    if len(output_size) != 2:
        raise _shape_error(f"{op}: output_size: expected 2 entries, got {list(output_size)}")
    if output_size[0] < 0 or output_size[1] < 0:
        raise _shape_error(f"{op}: elements of output_size must be greater than or equal to 0, "
                           f"got {list(output_size)}")
    return tuple(output_size)

# ------------------------------------------------------------------ avg forward


_AVG = "pykernels::adaptive_avg_pool2d"


def _avg_outputs(input: Tensor, output_size) -> Tensor:
    expect_dim(input, 4, _AVG, "input")
    _nonempty(input, 2, _AVG, "input")
    return empty(tuple(input.shape[:2]) + _size(output_size, _AVG), like=input)


def _adaptive_avg_pool2d(input: Tensor, output_size: list[int]) -> Tensor:
    """The mean of each adaptive bin (torch's bins)."""
    y = _avg_outputs(input, output_size)
    call(_C.adaptive_avg_pool2d_forward, _AVG, x=input, y=y)
    return y


adaptive_avg_pool2d = torch.library.custom_op(
    _AVG, mutates_args=(), schema="(Tensor input, SymInt[2] output_size) -> Tensor")(
    _adaptive_avg_pool2d)
adaptive_avg_pool2d.register_fake(_avg_outputs)

# ----------------------------------------------------------------- avg backward

_AVG_BW = "pykernels::adaptive_avg_pool2d_backward"


def _avg_backward_outputs(grad_output: Tensor, input_size) -> Tensor:
    expect_dim(grad_output, 4, _AVG_BW, "grad_output")
    _nonempty(grad_output, 1, _AVG_BW, "grad_output")
    if len(input_size) != 2 or input_size[0] == 0 or input_size[1] == 0:
        raise _shape_error(f"{_AVG_BW}: input_size: expected 2 non-zero sizes, got {list(input_size)}")
    return empty(tuple(grad_output.shape[:2]) + tuple(input_size), like=grad_output)


def _adaptive_avg_pool2d_backward(grad_output: Tensor, input_size: list[int]) -> Tensor:
    """grad_input:(N,C,H,W): each grad_output element spread evenly over its bin
    (a gather: deterministic)."""
    dx = _avg_backward_outputs(grad_output, input_size)
    call(_C.adaptive_avg_pool2d_backward, _AVG_BW, dy=grad_output, dx=dx)
    return dx


adaptive_avg_pool2d_backward = torch.library.custom_op(
    _AVG_BW, mutates_args=(), schema="(Tensor grad_output, SymInt[2] input_size) -> Tensor")(
    _adaptive_avg_pool2d_backward)
adaptive_avg_pool2d_backward.register_fake(_avg_backward_outputs)
adaptive_avg_pool2d_backward_fast = fast_path(adaptive_avg_pool2d_backward,
                                              _adaptive_avg_pool2d_backward)

# ----------------------------------------------------------------- avg autograd


def avg_setup_context(ctx, inputs, output) -> None:
    """No tensor is needed: only the input's (H, W)."""
    ctx.input_size = tuple(inputs[0].shape[2:])


def avg_backward(ctx, grad_output: Tensor):
    dx = None
    if ctx.needs_input_grad[0]:
        dx = adaptive_avg_pool2d_backward_fast(grad_output, ctx.input_size)
    return dx, None


adaptive_avg_pool2d.register_autograd(avg_backward, setup_context=avg_setup_context)
adaptive_avg_pool2d_fast = fast_path(adaptive_avg_pool2d, _adaptive_avg_pool2d,
                                     avg_setup_context, avg_backward)

# ------------------------------------------------------------------ max forward

_MAX = "pykernels::adaptive_max_pool2d"


def _max_outputs(input: Tensor, output_size):
    expect_dim(input, 4, _MAX, "input")
    _nonempty(input, 1, _MAX, "input")
    out = tuple(input.shape[:2]) + _size(output_size, _MAX)
    return empty(out, like=input), torch.empty(out, dtype=torch.int64, device=input.device)


def _adaptive_max_pool2d(input: Tensor, output_size: list[int]) -> tuple[Tensor, Tensor]:
    """Bin maxima and their flat argmax indices h*W + w (torch's)."""
    y, indices = _max_outputs(input, output_size)
    call(_C.adaptive_max_pool2d_forward, _MAX, x=input, y=y, indices=indices)
    return y, indices


adaptive_max_pool2d = torch.library.custom_op(
    _MAX, mutates_args=(), schema="(Tensor input, SymInt[2] output_size) -> (Tensor, Tensor)")(
    _adaptive_max_pool2d)
adaptive_max_pool2d.register_fake(_max_outputs)

# ----------------------------------------------------------------- max backward

_MAX_BW = "pykernels::adaptive_max_pool2d_backward"


def _max_backward_outputs(grad_output: Tensor, indices: Tensor, input_size) -> Tensor:
    expect_dim(grad_output, 4, _MAX_BW, "grad_output")
    _nonempty(grad_output, 1, _MAX_BW, "grad_output")
    if len(input_size) != 2 or input_size[0] == 0 or input_size[1] == 0:
        raise _shape_error(f"{_MAX_BW}: input_size: expected 2 non-zero sizes, got {list(input_size)}")
    return empty(tuple(grad_output.shape[:2]) + tuple(input_size), like=grad_output)


def _adaptive_max_pool2d_backward(grad_output: Tensor, indices: Tensor,
                                  input_size: list[int]) -> Tensor:
    """grad_input:(N,C,H,W): grad_output summed where indices point, 0 elsewhere."""
    dx = _max_backward_outputs(grad_output, indices, input_size)
    call(_C.adaptive_max_pool2d_backward, _MAX_BW, dy=grad_output, indices=indices, dx=dx)
    return dx


adaptive_max_pool2d_backward = torch.library.custom_op(
    _MAX_BW, mutates_args=(),
    schema="(Tensor grad_output, Tensor indices, SymInt[2] input_size) -> Tensor")(
    _adaptive_max_pool2d_backward)
adaptive_max_pool2d_backward.register_fake(_max_backward_outputs)
adaptive_max_pool2d_backward_fast = fast_path(adaptive_max_pool2d_backward,
                                              _adaptive_max_pool2d_backward)

# ----------------------------------------------------------------- max autograd


def max_setup_context(ctx, inputs, output) -> None:
    ctx.input_size = tuple(inputs[0].shape[2:])
    save_max_indices(ctx, output)


def max_backward(ctx, grad_output: Tensor, grad_indices: Optional[Tensor]):
    (indices,) = ctx.saved_tensors
    dx = None
    if ctx.needs_input_grad[0] and grad_output is not None:  # None: see save_max_indices
        dx = adaptive_max_pool2d_backward_fast(grad_output, indices, ctx.input_size)
    return dx, None


adaptive_max_pool2d.register_autograd(max_backward, setup_context=max_setup_context)
adaptive_max_pool2d_fast = fast_path(adaptive_max_pool2d, _adaptive_max_pool2d,
                                     max_setup_context, max_backward)

# ------------------------------------------------------------- public API


def functional_adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Like torch.nn.functional.adaptive_avg_pool2d: input (N, C, H, W) or (C, H, W);
    output_size an int or an (h, w) pair, None entries = the input's size."""
    op = "pykernels.torch.functional.adaptive_avg_pool2d"
    x, unbatched = batched(input, op)
    size = _adaptive_output_size(output_size, tuple(x.shape[2:]), op)
    y = adaptive_avg_pool2d_fast(x, list(size))
    return y.squeeze(0) if unbatched else y


functional_adaptive_avg_pool2d.__name__ = "adaptive_avg_pool2d"
functional_adaptive_avg_pool2d.__qualname__ = "adaptive_avg_pool2d"


def functional_adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Like torch.nn.functional.adaptive_max_pool2d: returns the output, or (output,
    indices) with ``return_indices`` (int64 flat positions h*W + w, equal to torch's)."""
    op = "pykernels.torch.functional.adaptive_max_pool2d"
    x, unbatched = batched(input, op)
    size = _adaptive_output_size(output_size, tuple(x.shape[2:]), op)
    y, indices = adaptive_max_pool2d_fast(x, list(size))
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


functional_adaptive_max_pool2d.__name__ = "adaptive_max_pool2d"
functional_adaptive_max_pool2d.__qualname__ = "adaptive_max_pool2d"


class AdaptiveAvgPool2d(torch.nn.AdaptiveAvgPool2d):
    """torch.nn.AdaptiveAvgPool2d(output_size) on libkernels."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(torch.nn.AdaptiveMaxPool2d):
    """torch.nn.AdaptiveMaxPool2d(output_size, return_indices=False) on libkernels."""

    def forward(self, input: Tensor):
        return functional_adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveAvgPool2dFunction(torch.autograd.Function):
    """Adaptive average pooling of a 4-D input: apply(input, output_size=(Ho, Wo))."""

    @staticmethod
    def forward(input: Tensor, output_size) -> Tensor:
        return adaptive_avg_pool2d(input, list(output_size))

    setup_context = staticmethod(avg_setup_context)
    backward = staticmethod(avg_backward)


class AdaptiveMaxPool2dFunction(torch.autograd.Function):
    """(output, indices) = adaptive max pooling of a 4-D input: apply(input, (Ho, Wo))."""

    @staticmethod
    def forward(input: Tensor, output_size):
        return adaptive_max_pool2d(input, list(output_size))

    setup_context = staticmethod(max_setup_context)
    backward = staticmethod(max_backward)


_registry.add("adaptive_avg_pool2d", functional=functional_adaptive_avg_pool2d,
              module=AdaptiveAvgPool2d, function=AdaptiveAvgPool2dFunction)
_registry.add("adaptive_max_pool2d", functional=functional_adaptive_max_pool2d,
              module=AdaptiveMaxPool2d, function=AdaptiveMaxPool2dFunction)
