"""Cross-entropy of logits with class-index targets (log_softmax fused into nll_loss):
``pykernels::cross_entropy``, ``pykernels::cross_entropy_backward``.

    cross_entropy(input, target, weight, reduction, ignore_index, label_smoothing)
        -> (loss, total_weight); shapes as pykernels::nll_loss, input = logits
    cross_entropy_backward(grad_output, input, target, weight, total_weight, reduction,
        ignore_index, label_smoothing) -> grad_input (input's shape)

torch's semantics, label smoothing included (the weight enters the smoothing term as
sum_c w[c] (lse - x_c), and 'mean' divides by total_weight). No (N, C) log-probability
buffer is kept: backward recomputes each row's log-sum-exp from the saved logits.
Out-of-range targets: KernelError on CPU, NaN on CUDA.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _C
from .._glue import call, empty_like, fast_path, mark_non_differentiable
from . import _class_loss


def _cross_entropy_outputs(input: Tensor, target: Tensor, weight: Optional[Tensor],
                           reduction: str, ignore_index: int, label_smoothing: float):
    code = _class_loss.check("pykernels::cross_entropy", input, target, weight, reduction,
                             label_smoothing)
    return _class_loss.outputs(input, target, code)


def _cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor], reduction: str,
                  ignore_index: int, label_smoothing: float) -> tuple[Tensor, Tensor]:
    """torch.nn.functional.cross_entropy for class indices; and total_weight."""
    op = "pykernels::cross_entropy"
    code = _class_loss.check(op, input, target, weight, reduction, label_smoothing)
    out, tw = _class_loss.outputs(input, target, code)  # (checked once: ~2 us a check)
    call(_C.cross_entropy_forward, op, code, ignore_index, float(label_smoothing),
         input=input, target=target, weight=weight, out=out, total_weight=tw)
    return out, tw


cross_entropy = torch.library.custom_op("pykernels::cross_entropy", mutates_args=())(_cross_entropy)
cross_entropy.register_fake(_cross_entropy_outputs)


def _cross_entropy_backward_outputs(grad_output: Tensor, input: Tensor, target: Tensor,
                                    weight: Optional[Tensor], total_weight: Tensor,
                                    reduction: str, ignore_index: int,
                                    label_smoothing: float) -> Tensor:
    _class_loss.check("pykernels::cross_entropy_backward", input, target, weight, reduction,
                      label_smoothing)
    return empty_like(input)


def _cross_entropy_backward(grad_output: Tensor, input: Tensor, target: Tensor,
                           weight: Optional[Tensor], total_weight: Tensor, reduction: str,
                           ignore_index: int, label_smoothing: float) -> Tensor:
    """g ((1-e) w_t (softmax - onehot) + (e/C)(W softmax - w)); 0 in ignored rows."""
    op = "pykernels::cross_entropy_backward"
    code = _class_loss.check(op, input, target, weight, reduction, label_smoothing)
    di = empty_like(input)  # what _cross_entropy_backward_outputs returns, checked once
    call(_C.cross_entropy_backward, op, code, ignore_index, float(label_smoothing),
         dout=grad_output, input=input, target=target, weight=weight, total_weight=total_weight,
         dinput=di)
    return di


cross_entropy_backward = torch.library.custom_op("pykernels::cross_entropy_backward", mutates_args=())(_cross_entropy_backward)
cross_entropy_backward.register_fake(_cross_entropy_backward_outputs)
cross_entropy_backward_fast = fast_path(cross_entropy_backward, _cross_entropy_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Save the logits, target, weight and total_weight only when the logits need a
    gradient."""
    # (NLLLossFunction / CrossEntropyFunction may leave the trailing arguments out.)
    input, target = inputs[0], inputs[1]
    weight = inputs[2] if len(inputs) > 2 else None
    ctx.reduction = inputs[3] if len(inputs) > 3 else "mean"
    ctx.ignore_index = inputs[4] if len(inputs) > 4 else -100
    ctx.label_smoothing = float(inputs[5]) if len(inputs) > 5 else 0.0
    mark_non_differentiable(ctx, output[1])
    if ctx.needs_input_grad[0]:
        ctx.save_for_backward(input, target, weight, output[1])
    else:
        ctx.save_for_backward(None, None, None, None)


def backward(ctx, grad_output: Tensor, _grad_total_weight):
    if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
        raise NotImplementedError("pykernels cross_entropy: the derivative for 'weight' is not "
                                  "implemented (as in torch)")
    input, target, weight, tw = ctx.saved_tensors
    di = None
    if ctx.needs_input_grad[0] and grad_output is not None:  # None: mark_non_differentiable
        di = cross_entropy_backward_fast(grad_output, input, target, weight, tw, ctx.reduction,
                                    ctx.ignore_index, ctx.label_smoothing)
    return (di, None, None, None, None, None)[:len(ctx.needs_input_grad)]


cross_entropy.register_autograd(backward, setup_context=setup_context)
# The C++ autograd node (torch_ext/class_loss.cpp) in plain eager mode, where built.
cross_entropy_fast = fast_path(cross_entropy, _cross_entropy, setup_context, backward,
                               node=_class_loss.node("cross_entropy", cross_entropy_backward_fast))
