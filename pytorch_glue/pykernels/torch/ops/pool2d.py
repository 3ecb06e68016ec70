"""2-D pooling: ``pykernels::max_pool2d(_backward)`` and ``pykernels::avg_pool2d(_backward)``.

    max_pool2d(input:(N,C,H,W), kernel_size, stride, padding, dilation, ceil_mode)
        -> (output:(N,C,Ho,Wo), indices:(N,C,Ho,Wo) int64: flat h*W + w, as torch's)
    max_pool2d_backward(grad_output, indices, input_size=(H,W), kernel_size, stride,
                        padding, dilation, ceil_mode) -> grad_input:(N,C,H,W)
    avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override) -> output:(N,C,Ho,Wo)
    avg_pool2d_backward(grad_output, input_size=(H,W), kernel_size, stride, padding,
                        ceil_mode, count_include_pad, divisor_override) -> grad_input

Parameters are (h, w) int pairs, already normalised (``functional`` does that:
ints, stride None); they are checked as torch checks them (ValueError), and an
output size below 1 raises pykernels.ShapeError (a ValueError), in the real
kernels and in the fake ones alike. indices are not differentiable and are saved
only when the input needs a gradient; avg pooling saves no tensor. ``<op>_fast``: the
same ops for eager callers, without the dispatcher when nothing needs it
(see _glue.fast_path).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C, _divisor, _pool2d_output_size, _pool2d_params
from .. import _glue
from .._glue import call, empty, expect_dim, fast_path
from ._pooling import save_max_indices

# ------------------------------------------------------------------ max forward

_MAX = "pykernels::max_pool2d"
_MAX_SCHEMA = ("(Tensor input, int[2] kernel_size, int[2] stride, int[2] padding, "
               "int[2] dilation, bool ceil_mode) -> (Tensor, Tensor)")


def _max_pool2d_outputs(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode):
    expect_dim(input, 4, _MAX, "input")
    k, s, p, d = _pool2d_params(_MAX, kernel_size, stride, padding, dilation)
    out = tuple(input.shape[:2]) + _pool2d_output_size(_MAX, input.shape[2:], k, s, p, d, ceil_mode)
    return empty(out, like=input), torch.empty(out, dtype=torch.int64, device=input.device)


def _max_pool2d(input: Tensor, kernel_size: list[int], stride: list[int], padding: list[int],
               dilation: list[int], ceil_mode: bool) -> tuple[Tensor, Tensor]:
    """Window maxima and their flat argmax indices h*W + w (torch's)."""
    y, indices = _max_pool2d_outputs(input, kernel_size, stride, padding, dilation, ceil_mode)
    call(_C.max_pool2d_forward, _MAX, *_pool2d_params(_MAX, kernel_size, stride, padding, dilation),
         bool(ceil_mode), x=input, y=y, indices=indices)
    return y, indices


max_pool2d = torch.library.custom_op(_MAX, mutates_args=(), schema=_MAX_SCHEMA)(
    _max_pool2d)
max_pool2d.register_fake(_max_pool2d_outputs)

# ----------------------------------------------------------------- max backward

_MAX_BW = "pykernels::max_pool2d_backward"
_MAX_BW_SCHEMA = ("(Tensor grad_output, Tensor indices, SymInt[2] input_size, int[2] kernel_size, "
                  "int[2] stride, int[2] padding, int[2] dilation, bool ceil_mode) -> Tensor")


def _max_pool2d_backward_outputs(grad_output: Tensor, indices: Tensor, input_size, kernel_size,
                                 stride, padding, dilation, ceil_mode) -> Tensor:
    expect_dim(grad_output, 4, _MAX_BW, "grad_output")
    _pool2d_params(_MAX_BW, kernel_size, stride, padding, dilation)
    return empty(tuple(grad_output.shape[:2]) + tuple(input_size), like=grad_output)


def _max_pool2d_backward(grad_output: Tensor, indices: Tensor, input_size: list[int],
                        kernel_size: list[int], stride: list[int], padding: list[int],
                        dilation: list[int], ceil_mode: bool) -> Tensor:
    """grad_input:(N,C,H,W): grad_output summed where indices point, 0 elsewhere."""
    dx = _max_pool2d_backward_outputs(grad_output, indices, input_size, kernel_size, stride,
                                      padding, dilation, ceil_mode)
    call(_C.max_pool2d_backward, _MAX_BW,
         *_pool2d_params(_MAX_BW, kernel_size, stride, padding, dilation), bool(ceil_mode),
         dy=grad_output, indices=indices, dx=dx)
    return dx


max_pool2d_backward = torch.library.custom_op(_MAX_BW, mutates_args=(), schema=_MAX_BW_SCHEMA)(
    _max_pool2d_backward)
max_pool2d_backward.register_fake(_max_pool2d_backward_outputs)
max_pool2d_backward_fast = fast_path(max_pool2d_backward, _max_pool2d_backward)

# ----------------------------------------------------------------- max autograd


def max_setup_context(ctx, inputs, output) -> None:
    input = inputs[0]
    ctx.params = tuple(inputs[1:6])
    ctx.input_size = tuple(input.shape[2:])
    save_max_indices(ctx, output)


def max_backward(ctx, grad_output: Tensor, grad_indices: Optional[Tensor]):
    (indices,) = ctx.saved_tensors
    dx = None
    if ctx.needs_input_grad[0] and grad_output is not None:  # None: see save_max_indices
        dx = max_pool2d_backward_fast(grad_output, indices, ctx.input_size, *ctx.params)
    return dx, None, None, None, None, None


max_pool2d.register_autograd(max_backward, setup_context=max_setup_context)
# The C++ autograd node (torch_ext/max_pool2d.cpp) in plain eager mode, where built.
max_pool2d_fast = fast_path(
    max_pool2d, _max_pool2d, max_setup_context, max_backward,
    node=lambda fallback: _glue.torch_ext.MaxPool2dNode(fallback, max_pool2d_backward_fast))

# ------------------------------------------------------------------ avg forward

_AVG = "pykernels::avg_pool2d"
_AVG_SCHEMA = ("(Tensor input, int[2] kernel_size, int[2] stride, int[2] padding, bool ceil_mode, "
               "bool count_include_pad, int? divisor_override) -> Tensor")


def _avg_pool2d_outputs(input: Tensor, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override) -> Tensor:
    expect_dim(input, 4, _AVG, "input")
    k, s, p, d = _pool2d_params(_AVG, kernel_size, stride, padding)
    _divisor(divisor_override, _AVG)
    out = tuple(input.shape[:2]) + _pool2d_output_size(_AVG, input.shape[2:], k, s, p, d, ceil_mode)
    return empty(out, like=input)


def _avg_pool2d(input: Tensor, kernel_size: list[int], stride: list[int], padding: list[int],
               ceil_mode: bool, count_include_pad: bool,
               divisor_override: Optional[int]) -> Tensor:
    """Window averages (torch's divisor rules)."""
    y = _avg_pool2d_outputs(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                            divisor_override)
    k, s, p, _ = _pool2d_params(_AVG, kernel_size, stride, padding)
    call(_C.avg_pool2d_forward, _AVG, k, s, p, bool(ceil_mode), bool(count_include_pad),
         _divisor(divisor_override, _AVG), x=input, y=y)
    return y


avg_pool2d = torch.library.custom_op(_AVG, mutates_args=(), schema=_AVG_SCHEMA)(
    _avg_pool2d)
avg_pool2d.register_fake(_avg_pool2d_outputs)

# ----------------------------------------------------------------- avg backward

_AVG_BW = "pykernels::avg_pool2d_backward"
_AVG_BW_SCHEMA = ("(Tensor grad_output, SymInt[2] input_size, int[2] kernel_size, int[2] stride, "
                  "int[2] padding, bool ceil_mode, bool count_include_pad, int? divisor_override)"
                  " -> Tensor")


def _avg_pool2d_backward_outputs(grad_output: Tensor, input_size, kernel_size, stride, padding,
                                 ceil_mode, count_include_pad, divisor_override) -> Tensor:
    expect_dim(grad_output, 4, _AVG_BW, "grad_output")
    _pool2d_params(_AVG_BW, kernel_size, stride, padding)
    _divisor(divisor_override, _AVG_BW)
    return empty(tuple(grad_output.shape[:2]) + tuple(input_size), like=grad_output)


def _avg_pool2d_backward(grad_output: Tensor, input_size: list[int], kernel_size: list[int],
                        stride: list[int], padding: list[int], ceil_mode: bool,
                        count_include_pad: bool, divisor_override: Optional[int]) -> Tensor:
    """grad_input:(N,C,H,W): each grad_output element / its divisor, over its window."""
    dx = _avg_pool2d_backward_outputs(grad_output, input_size, kernel_size, stride, padding,
                                      ceil_mode, count_include_pad, divisor_override)
    k, s, p, _ = _pool2d_params(_AVG_BW, kernel_size, stride, padding)
    call(_C.avg_pool2d_backward, _AVG_BW, k, s, p, bool(ceil_mode), bool(count_include_pad),
         _divisor(divisor_override, _AVG_BW), dy=grad_output, dx=dx)
    return dx


avg_pool2d_backward = torch.library.custom_op(_AVG_BW, mutates_args=(), schema=_AVG_BW_SCHEMA)(
    _avg_pool2d_backward)
avg_pool2d_backward.register_fake(_avg_pool2d_backward_outputs)
avg_pool2d_backward_fast = fast_path(avg_pool2d_backward, _avg_pool2d_backward)

# ----------------------------------------------------------------- avg autograd


def avg_setup_context(ctx, inputs, output) -> None:
    """No tensor is needed: only the input's (H, W) and the parameters."""
    ctx.params = tuple(inputs[1:7])
    ctx.input_size = tuple(inputs[0].shape[2:])


def avg_backward(ctx, grad_output: Tensor):
    dx = None
    if ctx.needs_input_grad[0]:
        dx = avg_pool2d_backward_fast(grad_output, ctx.input_size, *ctx.params)
    return dx, None, None, None, None, None, None


avg_pool2d.register_autograd(avg_backward, setup_context=avg_setup_context)
avg_pool2d_fast = fast_path(avg_pool2d, _avg_pool2d, avg_setup_context, avg_backward)
