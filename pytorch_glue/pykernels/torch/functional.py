"""Mirrors of torch.nn.functional running on libkernels (same names, argument names
and defaults). Autograd, torch.compile(fullgraph=True) and inference mode work
through the ``torch.ops.pykernels`` custom ops."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .. import _shape_error
from .ops import linear as _linear
from .ops import mse_loss as _mse_loss
from .ops import relu as _relu

__all__ = ["linear", "relu", "mse_loss"]
__all__ += ["softmax", "log_softmax", "nll_loss", "cross_entropy"]


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = input weight^T + bias, like torch.nn.functional.linear.

    input: (*, in) (1-D included), weight: (out, in), bias: (out,) or None -> (*, out).
    Leading dims are flattened with reshape (a view when the strides allow it).
    """
    if input.dim() == 0:
        raise _shape_error("pykernels.torch.functional.linear: input: expected shape (*, in), "
                           "got a 0-d tensor")
    if input.dim() == 2:
        return _linear.linear(input, weight, bias)
    y = _linear.linear(input.reshape(-1, input.shape[-1]), weight, bias)
    return y.reshape(*input.shape[:-1], y.shape[-1])


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) element-wise, like torch.nn.functional.relu (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returning ``input``), so autograd and version counters behave as for torch's
    in-place relu_ (e.g. it raises on a leaf that requires grad).
    """
    result = _relu.relu(input)
    return input.copy_(result) if inplace else result


def mse_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, reduction: str = "mean",
             weight: Optional[Tensor] = None) -> Tensor:
    """Mean squared error, like torch.nn.functional.mse_loss.

    input and target must have the same shape: unlike torch (which broadcasts with a
    warning), a mismatch raises pykernels.ShapeError (a ValueError). Returns input's
    shape for reduction='none', a 0-d tensor for 'mean' and 'sum'. The deprecated
    size_average/reduce are honoured as torch does. ``weight`` (new in torch) is not
    supported: anything but None raises NotImplementedError.
    """
    if size_average is not None or reduce is not None:
        reduction = torch.nn._reduction.legacy_get_string(size_average, reduce)
    if weight is not None:
        raise NotImplementedError("pykernels.torch.functional.mse_loss: weight is not supported")
    return _mse_loss.mse_loss(input, target, reduction)


# ----------------------------------------------------------------- convolution



# --------------------------------------------------------------------- pooling



# ----------------------------------------------------------------- activations



# ---------------------------------------------------------- softmax and losses

from .ops import cross_entropy as _cross_entropy  # noqa: E402
from .ops import nll_loss as _nll_loss  # noqa: E402
from .ops import softmax as _softmax  # noqa: E402


def _softmax_args(name: str, input: Tensor, dim: Optional[int], _stacklevel: int,
                  dtype: Optional[torch.dtype]):
    """torch's handling: dim=None is deprecated and picks 0 for 0-, 1- and 3-d input,
    else 1 (with torch's warning); dtype casts the input first."""
    if dim is None:
        dim = torch.nn.functional._get_softmax_dim(name, input.dim(), _stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    return input, dim


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype: Optional[torch.dtype] = None) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along dim, like torch.nn.functional.softmax
    (any shape and strides; float32/float64 after the optional dtype cast)."""
    input, dim = _softmax_args("softmax", input, dim, _stacklevel, dtype)
    return _softmax.softmax(input, dim)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype: Optional[torch.dtype] = None) -> Tensor:
    """(x - max) - log(sum(exp(x - max))) along dim, like
    torch.nn.functional.log_softmax."""
    input, dim = _softmax_args("log_softmax", input, dim, _stacklevel, dtype)
    return _softmax.log_softmax(input, dim)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average: Optional[bool] = None, ignore_index: int = -100,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood, like torch.nn.functional.nll_loss: input (N, C),
    (N, C, d1, ..., dk) or (C,) log-probabilities; target (N,), (N, d1, ..., dk) or ()
    class indices (int64 or int32). The deprecated size_average/reduce are honoured as
    torch does. A target outside [0, C) (not ignore_index) raises pykernels.KernelError
    (a RuntimeError; torch raises IndexError/RuntimeError) on CPU; on CUDA it gives NaN."""
    if size_average is not None or reduce is not None:
        reduction = torch.nn._reduction.legacy_get_string(size_average, reduce)
    return _nll_loss.nll_loss(input, target, weight, reduction, ignore_index)[0]


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits, like torch.nn.functional.cross_entropy.

    Class-index targets (int64/int32, input's shape without the class dim) run the
    fused kernel (pykernels::cross_entropy). Class-probability targets (floating point,
    input's shape) are composed in Python from pykernels log_softmax and torch
    element-wise ops, with torch's formula (smoothing mixes in label_smoothing / C,
    the weight scales each class, 'mean' divides by the number of rows).
    label_smoothing outside [0, 1] raises ValueError.
    """
    if size_average is not None or reduce is not None:
        reduction = torch.nn._reduction.legacy_get_string(size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError("pykernels.torch.functional.cross_entropy: label_smoothing must be "
                         f"in [0, 1], got {label_smoothing}")
    if not target.is_floating_point():
        return _cross_entropy.cross_entropy(input, target, weight, reduction, ignore_index,
                                            float(label_smoothing))[0]
    op = "pykernels.torch.functional.cross_entropy"
    if target.shape != input.shape:
        raise _shape_error(f"{op}: target: class probabilities must have input's shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    if input.dim() == 0:
        raise _shape_error(f"{op}: input: expected shape (N, C, d1, ..., dk) or (C,), got a "
                           "0-d tensor")
    cd = 0 if input.dim() == 1 else 1
    classes = input.shape[cd]
    logp = _softmax.log_softmax(input, cd)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    if weight is not None:
        shape = [1] * input.dim()
        shape[cd] = classes
        logp = logp * weight.view(shape)
    loss = -(logp * target).sum(cd)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / (input.numel() / classes) if input.numel() else loss.sum() * float("nan")
    raise ValueError(f"{op}: reduction must be one of 'none', 'mean', 'sum', got {reduction!r}")




# --------------------------------------------------------------------- dropout
