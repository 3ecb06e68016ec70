"""Group normalisation: ``pykernels::group_norm`` and ``pykernels::group_norm_backward``
(and the public API: functional.group_norm, nn.GroupNorm, autograd.GroupNormFunction,
exported by pykernels.torch through _registry).

    group_norm(input:(N, C, *), num_groups, weight:(C)?, bias:(C)?, eps)
        -> (output:(N, C, *), mean:(N, G), rstd:(N, G))      (as torch's native_group_norm)
    group_norm_backward(grad_output, input, num_groups, weight?, mean, rstd,
                        need_input, need_weight, need_bias)
        -> (grad_input, grad_weight, grad_bias)   (a 0-element tensor where not needed)

C must be divisible by num_groups (torch's message, as pykernels.ShapeError: a
RuntimeError and a ValueError), in the real and the fake kernels alike. mean and rstd are
saved for the backward only when a gradient is needed.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C, _shape_error
from .. import _registry
from . import _norm
from .._glue import call, empty, fast_path

_OP = "pykernels::group_norm"
_BW = "pykernels::group_norm_backward"


def _check(input: Tensor, num_groups: int, op: str) -> int:
    if input.dim() < 2:
        raise _shape_error(f"{op}: Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    g = int(num_groups)
    if g < 1 or input.shape[1] % g != 0:
        raise _shape_error(f"{op}: Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={g}")
    return g

# ------------------------------------------------------------------ forward


def _group_norm_outputs(input: Tensor, num_groups: int, weight: Optional[Tensor],
                        bias: Optional[Tensor], eps: float):
    g = _check(input, num_groups, _OP)
    stats = (input.shape[0], g)
    return empty(tuple(input.shape), like=input), empty(stats, like=input), empty(stats, like=input)


def _group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor], bias: Optional[Tensor],
                eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(output, mean, rstd): each group of C/num_groups channels of each sample normalised."""
    y, mean, rstd = _group_norm_outputs(input, num_groups, weight, bias, eps)
    call(_C.group_norm_forward, _OP, int(num_groups), float(eps), x=input, weight=weight,
         bias=bias, y=y, mean=mean, rstd=rstd)
    return y, mean, rstd


group_norm = torch.library.custom_op(_OP, mutates_args=())(_group_norm)
group_norm.register_fake(_group_norm_outputs)

# ----------------------------------------------------------------- backward


def _group_norm_backward_outputs(grad_output: Tensor, input: Tensor, num_groups: int,
                                 weight: Optional[Tensor], mean: Tensor, rstd: Tensor,
                                 need_input: bool, need_weight: bool, need_bias: bool):
    _check(input, num_groups, _BW)
    c = (input.shape[1],)
    return _norm.backward_outputs(grad_output, input, c, need_input, need_weight, need_bias)


def _group_norm_backward(grad_output: Tensor, input: Tensor, num_groups: int,
                         weight: Optional[Tensor], mean: Tensor, rstd: Tensor, need_input: bool,
                         need_weight: bool, need_bias: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(grad_input, grad_weight, grad_bias); a 0-element tensor where not needed."""
    outputs = _group_norm_backward_outputs(grad_output, input, num_groups, weight, mean, rstd,
                                           need_input, need_weight, need_bias)
    return _norm.call_backward(_C.group_norm_backward, _BW, num_groups, grad_output, input, weight,
                               mean, rstd, outputs, need_input, need_weight, need_bias)


group_norm_backward = torch.library.custom_op(_BW, mutates_args=())(_group_norm_backward)
group_norm_backward.register_fake(_group_norm_backward_outputs)
group_norm_backward_fast = fast_path(group_norm_backward, _group_norm_backward)

# ----------------------------------------------------------------- autograd


setup_context, backward = _norm.autograd(group_norm_backward_fast)

group_norm.register_autograd(backward, setup_context=setup_context)
group_norm_fast = fast_path(group_norm, _group_norm, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
                          bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Like torch.nn.functional.group_norm: input (N, C, *) normalised over each group of
    C/num_groups channels (biased variance, 1/sqrt(var + eps)), times weight[c] plus bias[c]."""
    _check(input, num_groups, "pykernels.torch.functional.group_norm")
    return group_norm_fast(input, int(num_groups), weight, bias, float(eps))[0]


functional_group_norm.__name__ = functional_group_norm.__qualname__ = "group_norm"


class GroupNorm(torch.nn.GroupNorm):
    """torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True, device=None,
    dtype=None) on libkernels."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_group_norm(input, self.num_groups, self.weight, self.bias, self.eps)


class GroupNormFunction(torch.autograd.Function):
    """(output, mean, rstd) = group norm of input (N, C, *); mean and rstd (N, num_groups)
    are not differentiable."""

    @staticmethod
    def forward(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
                bias: Optional[Tensor] = None, eps: float = 1e-5):
        return group_norm(input, num_groups, weight, bias, eps)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add("group_norm", functional=functional_group_norm, module=GroupNorm,
              function=GroupNormFunction)
