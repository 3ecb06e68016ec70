"""Argument checks and output allocation shared by the class-index loss ops
(nll_loss.py, cross_entropy.py); used by the real ops and their fake kernels alike."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import _reduction_code, _shape_error
from .. import _glue
from .._glue import empty

INDEX_DTYPES = (torch.int32, torch.int64)


def check(op: str, input: Tensor, target: Tensor, weight: Optional[Tensor], reduction: str,
          label_smoothing: float, input_name: str = "input") -> int:
    """Validate what the fake kernel must reject too; returns the reduction code."""
    code = _reduction_code(reduction, op)
    if target.dtype not in INDEX_DTYPES:
        raise TypeError(f"{op}: target: expected class indices of dtype int64 or int32, got "
                        f"{target.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.dim() == 0:
        raise _shape_error(f"{op}: {input_name}: expected shape (N, C, d1, ..., dk) or (C,), "
                           "got a 0-d tensor")
    cd = 0 if input.dim() == 1 else 1
    want = input.shape[:cd] + input.shape[cd + 1:]
    if target.shape != want:
        raise _shape_error(f"{op}: target: expected shape {tuple(want)} ({input_name} "
                           f"{tuple(input.shape)} without its class dim {cd}), got "
                           f"{tuple(target.shape)}")
    if weight is not None and (weight.dim() != 1 or weight.shape[0] != input.shape[cd]):
        raise _shape_error(f"{op}: weight: expected shape ({input.shape[cd]},), got "
                           f"{tuple(weight.shape)}")
    return code


def outputs(input: Tensor, target: Tensor, code: int):
    """(out, total_weight): out has target's shape for 'none', else 0-d."""
    from ... import _C
    out = empty(target.shape if code == _C.REDUCTION_NONE else (), like=input)
    return out, empty((), like=input)


def node(name: str, backward_fast):
    """fast_path's ``node`` for the op ``name`` (nll_loss, cross_entropy): its C++ autograd
    node (torch_ext/class_loss.cpp), whose backward hands create_graph calls to
    ``backward_fast``."""
    return lambda fallback: _glue.torch_ext.ClassLossNode(name, fallback, backward_fast)
