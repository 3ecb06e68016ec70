"""Layer normalisation: ``pykernels::layer_norm`` and ``pykernels::layer_norm_backward``
(and the public API: functional.layer_norm, nn.LayerNorm, autograd.LayerNormFunction,
exported by pykernels.torch through _registry).

    layer_norm(input:(*lead, *norm), normalized_ndim, weight:(*norm)?, bias:(*norm)?, eps)
        -> (output:(*lead, *norm), mean:(*lead), rstd:(*lead))
    layer_norm_backward(grad_output, input, normalized_ndim, weight?, mean, rstd,
                        need_input, need_weight, need_bias)
        -> (grad_input, grad_weight, grad_bias)   (a 0-element tensor where not needed)

mean and rstd have the input's LEADING dims only; torch's own native_layer_norm returns
them as (*lead, 1, ..., 1), which is ``mean.view(*lead, *[1] * k)`` of these. They are
outputs of the op (marked non-differentiable) and saved for the backward only when a
gradient is needed: nothing is saved under no_grad / inference_mode.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C, _shape_error
from .. import _registry
from . import _norm
from .._glue import call, empty, fast_path

_OP = "pykernels::layer_norm"
_BW = "pykernels::layer_norm_backward"


def _check_k(input: Tensor, normalized_ndim: int, op: str) -> int:
    k = int(normalized_ndim)
    if k < 1 or k > input.dim():
        raise _shape_error(f"{op}: normalized_ndim: expected a value in [1, input.dim() = "
                           f"{input.dim()}], got {k}")
    return k

# ------------------------------------------------------------------ forward


def _layer_norm_outputs(input: Tensor, normalized_ndim: int, weight: Optional[Tensor],
                        bias: Optional[Tensor], eps: float):
    k = _check_k(input, normalized_ndim, _OP)
    lead = tuple(input.shape[:input.dim() - k])
    return empty(tuple(input.shape), like=input), empty(lead, like=input), empty(lead, like=input)


def _layer_norm(input: Tensor, normalized_ndim: int, weight: Optional[Tensor],
                bias: Optional[Tensor], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(output, mean, rstd): input normalised over its last normalized_ndim dims."""
    y, mean, rstd = _layer_norm_outputs(input, normalized_ndim, weight, bias, eps)
    call(_C.layer_norm_forward, _OP, int(normalized_ndim), float(eps), x=input, weight=weight,
         bias=bias, y=y, mean=mean, rstd=rstd)
    return y, mean, rstd


layer_norm = torch.library.custom_op(_OP, mutates_args=())(_layer_norm)
layer_norm.register_fake(_layer_norm_outputs)

# ----------------------------------------------------------------- backward


def _layer_norm_backward_outputs(grad_output: Tensor, input: Tensor, normalized_ndim: int,
                                 weight: Optional[Tensor], mean: Tensor, rstd: Tensor,
                                 need_input: bool, need_weight: bool, need_bias: bool):
    k = _check_k(input, normalized_ndim, _BW)
    norm = tuple(input.shape[input.dim() - k:])
    return _norm.backward_outputs(grad_output, input, norm, need_input, need_weight, need_bias)


def _layer_norm_backward(grad_output: Tensor, input: Tensor, normalized_ndim: int,
                         weight: Optional[Tensor], mean: Tensor, rstd: Tensor, need_input: bool,
                         need_weight: bool, need_bias: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(grad_input, grad_weight, grad_bias); a 0-element tensor where not needed."""
    outputs = _layer_norm_backward_outputs(grad_output, input, normalized_ndim, weight, mean,
                                           rstd, need_input, need_weight, need_bias)
    return _norm.call_backward(_C.layer_norm_backward, _BW, normalized_ndim, grad_output, input,
                               weight, mean, rstd, outputs, need_input, need_weight, need_bias)


layer_norm_backward = torch.library.custom_op(_BW, mutates_args=())(_layer_norm_backward)
layer_norm_backward.register_fake(_layer_norm_backward_outputs)
layer_norm_backward_fast = fast_path(layer_norm_backward, _layer_norm_backward)

# ----------------------------------------------------------------- autograd


setup_context, backward = _norm.autograd(layer_norm_backward_fast)

layer_norm.register_autograd(backward, setup_context=setup_context)
layer_norm_fast = fast_path(layer_norm, _layer_norm, setup_context, backward)

# ------------------------------------------------------------- public API


def _normalized_ndim(input: Tensor, normalized_shape) -> int:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise _shape_error(
            f"pykernels.torch.functional.layer_norm: Given normalized_shape={list(shape)}, expected "
            f"input with shape [*, {', '.join(map(str, shape))}], but got input of size "
            f"{list(input.shape)}")
    return k


def functional_layer_norm(input: Tensor, normalized_shape, weight: Optional[Tensor] = None,
                          bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Like torch.nn.functional.layer_norm: input normalised over its trailing dims
    ``normalized_shape`` (biased variance, 1/sqrt(var + eps)), times weight plus bias."""
    k = _normalized_ndim(input, normalized_shape)
    return layer_norm_fast(input, k, weight, bias, float(eps))[0]


functional_layer_norm.__name__ = functional_layer_norm.__qualname__ = "layer_norm"


class LayerNorm(torch.nn.LayerNorm):
    """torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
    device=None, dtype=None) on libkernels."""

    def forward(self, input: Tensor) -> Tensor:
        return functional_layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)


class LayerNormFunction(torch.autograd.Function):
    """(output, mean, rstd) = layer norm of input over its last normalized_ndim dims;
    mean and rstd (shape: the leading dims) are not differentiable."""

    @staticmethod
    def forward(input: Tensor, normalized_ndim: int, weight: Optional[Tensor] = None,
                bias: Optional[Tensor] = None, eps: float = 1e-5):
        return layer_norm(input, normalized_ndim, weight, bias, eps)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add("layer_norm", functional=functional_layer_norm, module=LayerNorm,
              function=LayerNormFunction)
