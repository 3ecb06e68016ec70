"""NLL loss with class-index targets: ``pykernels::nll_loss``, ``pykernels::nll_loss_backward``.

    nll_loss(input, target, weight, reduction, ignore_index) -> (loss, total_weight)
        input (N, C, d1..dk) | (C,) log-probabilities, target (N, d1..dk) | () int64/int32,
        weight (C,) or None; loss: target's shape for 'none', 0-d otherwise;
        total_weight (0-d): sum of weight[target] over non-ignored targets
    nll_loss_backward(grad_output, input, target, weight, total_weight, reduction,
        ignore_index) -> grad_input (input's shape; input supplies shape/dtype/device only)

A target outside [0, C) that is not ignore_index raises pykernels.KernelError (CPU);
on CUDA it gives NaN (see kernels.h). total_weight is not differentiable; a weight
that requires grad is not supported in backward (as torch: NotImplementedError).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C
from .._glue import call, empty_like, fast_path, mark_non_differentiable
from . import _class_loss


def _nll_loss_outputs(input: Tensor, target: Tensor, weight: Optional[Tensor], reduction: str,
                      ignore_index: int):
    code = _class_loss.check("pykernels::nll_loss", input, target, weight, reduction, 0.0)
    return _class_loss.outputs(input, target, code)


def _nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor], reduction: str,
             ignore_index: int) -> tuple[Tensor, Tensor]:
    """-weight[t] * input[n, t], reduced; and total_weight."""
    code = _class_loss.check("pykernels::nll_loss", input, target, weight, reduction, 0.0)
    out, tw = _class_loss.outputs(input, target, code)  # (checked once: ~2 us a check)
    call(_C.nll_loss_forward, "pykernels::nll_loss", code, ignore_index, 0.0,
         input=input, target=target, weight=weight, out=out, total_weight=tw)
    return out, tw


nll_loss = torch.library.custom_op("pykernels::nll_loss", mutates_args=())(_nll_loss)
nll_loss.register_fake(_nll_loss_outputs)


def _nll_loss_backward_outputs(grad_output: Tensor, input: Tensor, target: Tensor,
                               weight: Optional[Tensor], total_weight: Tensor, reduction: str,
                               ignore_index: int) -> Tensor:
    _class_loss.check("pykernels::nll_loss_backward", input, target, weight, reduction, 0.0)
    return empty_like(input)


def _nll_loss_backward(grad_output: Tensor, input: Tensor, target: Tensor,
                      weight: Optional[Tensor], total_weight: Tensor, reduction: str,
                      ignore_index: int) -> Tensor:
    """grad_input[n, t] = -weight[t] g_n, 0 elsewhere."""
    op = "pykernels::nll_loss_backward"
    code = _class_loss.check(op, input, target, weight, reduction, 0.0)
    di = empty_like(input)  # what _nll_loss_backward_outputs returns, checked once
    call(_C.nll_loss_backward, op, code, ignore_index, 0.0, dout=grad_output, target=target,
         weight=weight, total_weight=total_weight, dinput=di)
    return di


nll_loss_backward = torch.library.custom_op("pykernels::nll_loss_backward", mutates_args=())(_nll_loss_backward)
nll_loss_backward.register_fake(_nll_loss_backward_outputs)
nll_loss_backward_fast = fast_path(nll_loss_backward, _nll_loss_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save input (for its shape), target, weight and total_weight only when input
    needs a gradient."""
    # (NLLLossFunction / CrossEntropyFunction may leave the trailing arguments out.)
    input, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    ctx.reduction = inputs[3] if len(inputs) > 3 else "mean"
    ctx.ignore_index = inputs[4] if len(inputs) > 4 else -100
    mark_non_differentiable(ctx, output[1])
    if ctx.needs_input_grad[0]:
        ctx.save_for_backward(input, target, weight, output[1])
    else:
        ctx.save_for_backward(None, None, None, None)


def backward(ctx, grad_output: Tensor, _grad_total_weight):
    if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
        raise NotImplementedError("pykernels nll_loss: the derivative for 'weight' is not "
                                  "implemented (as in torch)")
    input, target, weight, tw = ctx.saved_tensors
    di = None
    if ctx.needs_input_grad[0] and grad_output is not None:  # None: mark_non_differentiable
        di = nll_loss_backward_fast(grad_output, input, target, weight, tw, ctx.reduction,
                               ctx.ignore_index)
    return (di, None, None, None, None)[:len(ctx.needs_input_grad)]


nll_loss.register_autograd(backward, setup_context=setup_context)
# The C++ autograd node (torch_ext/class_loss.cpp) in plain eager mode, where built.
nll_loss_fast = fast_path(nll_loss, _nll_loss, setup_context, backward,
                          node=_class_loss.node("nll_loss", nll_loss_backward_fast))
