"""Public torch.autograd.Function classes over the ``torch.ops.pykernels`` custom ops.

Each calls only the custom ops, and shares its ``setup_context``/``backward`` with
the op's ``register_autograd`` registration (see pykernels/torch/ops/<op>.py), so
there is one gradient formula per op.

    LinearFunction.apply(input:(N,in), weight:(out,in), bias:(out,) or None) -> (N,out)
    ReLUFunction.apply(input) -> max(input, 0)
    MSELossFunction.apply(input, target, reduction='mean') -> loss
    SigmoidFunction.apply(input), TanhFunction.apply(input)
    LeakyReLUFunction.apply(input, negative_slope=0.01)
    GELUFunction.apply(input, approximate='none')
    DropoutFunction.apply(input, p, seed: 0-d int64 tensor) -> (output, mask)
    SoftmaxFunction.apply(input, dim), LogSoftmaxFunction.apply(input, dim)
    NLLLossFunction.apply(input, target, weight=None, reduction='mean', ignore_index=-100)
        -> (loss, total_weight)
    CrossEntropyFunction.apply(input, target, weight=None, reduction='mean',
        ignore_index=-100, label_smoothing=0.0) -> (loss, total_weight)
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .ops import linear as _linear
from .ops import mse_loss as _mse_loss
from .ops import relu as _relu

__all__ = ["LinearFunction", "ReLUFunction", "MSELossFunction", "DropoutFunction",
           "MaxPool2dFunction", "AvgPool2dFunction", "SoftmaxFunction",
           "LogSoftmaxFunction", "NLLLossFunction", "CrossEntropyFunction",
           "Conv2dFunction"]
# SigmoidFunction, TanhFunction, LeakyReLUFunction, GELUFunction, SoftplusFunction...:
# pykernels/torch/ops/<op>.py, added at the end


class LinearFunction(torch.autograd.Function):
    """y = input weight^T + bias for 2-D input."""

    @staticmethod
    def forward(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
        return _linear.linear(input, weight, bias)

    setup_context = staticmethod(_linear.setup_context)
    backward = staticmethod(_linear.backward)


class ReLUFunction(torch.autograd.Function):
    """y = max(input, 0), any shape."""

    @staticmethod
    def forward(input: Tensor) -> Tensor:
        return _relu.relu(input)

    setup_context = staticmethod(_relu.setup_context)
    backward = staticmethod(_relu.backward)


class MSELossFunction(torch.autograd.Function):
    """(input - target)^2 reduced by 'none' | 'mean' | 'sum'; input and target of one shape."""

    @staticmethod
    def forward(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
        return _mse_loss.mse_loss(input, target, reduction)

    setup_context = staticmethod(_mse_loss.setup_context)
    backward = staticmethod(_mse_loss.backward)


# ----------------------------------------------------------------- convolution

from .. import _pair  # noqa: E402
from .ops import conv2d as _conv2d  # noqa: E402


class Conv2dFunction(torch.autograd.Function):
    """2-D convolution of 4-D input with zero padding; stride, padding, dilation: ints or
    (h, w) pairs (pykernels.torch.functional.conv2d also takes 'same'/'valid' and 3-D)."""

    @staticmethod
    def forward(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1,
                padding=0, dilation=1, groups: int = 1) -> Tensor:
        op = "pykernels.torch.autograd.Conv2dFunction"
        return _conv2d.conv2d(input, weight, bias, _pair(stride, op, "stride"),
                              _pair(padding, op, "padding"), _pair(dilation, op, "dilation"),
                              groups)

    setup_context = staticmethod(_conv2d.setup_context)
    backward = staticmethod(_conv2d.backward)



# --------------------------------------------------------------------- pooling

from .ops import pool2d as _pool2d  # noqa: E402


class MaxPool2dFunction(torch.autograd.Function):
    """(output, indices) = max pooling of a 4-D input; parameters as (h, w) pairs:
    apply(input, kernel_size, stride, padding, dilation, ceil_mode). indices are not
    differentiable."""

    @staticmethod
    def forward(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode):
        return _pool2d.max_pool2d(input, list(kernel_size), list(stride), list(padding),
                                  list(dilation), bool(ceil_mode))

    setup_context = staticmethod(_pool2d.max_setup_context)
    backward = staticmethod(_pool2d.max_backward)


class AvgPool2dFunction(torch.autograd.Function):
    """Average pooling of a 4-D input: apply(input, kernel_size, stride, padding, ceil_mode,
    count_include_pad, divisor_override), parameters as (h, w) pairs."""

    @staticmethod
    def forward(input: Tensor, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
        return _pool2d.avg_pool2d(input, list(kernel_size), list(stride), list(padding),
                                  bool(ceil_mode), bool(count_include_pad), divisor_override)

    setup_context = staticmethod(_pool2d.avg_setup_context)
    backward = staticmethod(_pool2d.avg_backward)




# ---------------------------------------------------------- softmax and losses

from .ops import cross_entropy as _cross_entropy  # noqa: E402
from .ops import nll_loss as _nll_loss  # noqa: E402
from .ops import softmax as _softmax  # noqa: E402


class SoftmaxFunction(torch.autograd.Function):
    """softmax(input) along dim (an int in [-ndim, ndim))."""

    @staticmethod
    def forward(input: Tensor, dim: int) -> Tensor:
        return _softmax.softmax(input, dim)

    setup_context = staticmethod(_softmax.setup_context)
    backward = staticmethod(_softmax.softmax_grad)


class LogSoftmaxFunction(torch.autograd.Function):
    """log_softmax(input) along dim."""

    @staticmethod
    def forward(input: Tensor, dim: int) -> Tensor:
        return _softmax.log_softmax(input, dim)

    setup_context = staticmethod(_softmax.setup_context)
    backward = staticmethod(_softmax.log_softmax_grad)


class NLLLossFunction(torch.autograd.Function):
    """(loss, total_weight) of nll_loss with class-index targets."""

    @staticmethod
    def forward(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                reduction: str = "mean", ignore_index: int = -100):
        return _nll_loss.nll_loss(input, target, weight, reduction, ignore_index)

    setup_context = staticmethod(_nll_loss.setup_context)
    backward = staticmethod(_nll_loss.backward)


class CrossEntropyFunction(torch.autograd.Function):
    """(loss, total_weight) of cross_entropy with class-index targets."""

    @staticmethod
    def forward(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                reduction: str = "mean", ignore_index: int = -100, label_smoothing: float = 0.0):
        return _cross_entropy.cross_entropy(input, target, weight, reduction, ignore_index,
                                            float(label_smoothing))

    setup_context = staticmethod(_cross_entropy.setup_context)
    backward = staticmethod(_cross_entropy.backward)




# --------------------------------------------------------------------- dropout

from .ops import dropout as _dropout_op  # noqa: E402


class DropoutFunction(torch.autograd.Function):
    """(output, mask) of training-mode dropout with probability p; ``seed`` a 0-d int64
    tensor (e.g. ``pykernels.torch.ops.dropout.draw_seed()``). The mask is not
    differentiable."""

    @staticmethod
    def forward(input: Tensor, p: float, seed: Tensor):
        return _dropout_op.dropout(input, p, seed)

    setup_context = staticmethod(_dropout_op.setup_context)
    backward = staticmethod(_dropout_op.backward)


# --------------------------------------------------------------------- graph

from .ops import gspmm as _gspmm  # noqa: E402

__all__ += ["GSpMMFunction"]


class GSpMMFunction(torch.autograd.Function):
    """(y, arg) of gSpMM over the CSR graph (indptr, indices):
    apply(indptr, indices, x, edge_values=None, t_indptr=None, t_indices=None,
    t_edge_ids=None, message='copy_u', reduce='sum', skip_index_check=False), as
    ``torch.ops.pykernels.gspmm`` (the transpose t_* is only kept for the backward; it is
    built there when x needs a gradient and it was not given). Gradients for x and
    edge_values; arg is not differentiable."""

    @staticmethod
    def forward(indptr: Tensor, indices: Tensor, x: Tensor, edge_values: Optional[Tensor] = None,
                t_indptr: Optional[Tensor] = None, t_indices: Optional[Tensor] = None,
                t_edge_ids: Optional[Tensor] = None, message: str = "copy_u", reduce: str = "sum",
                skip_index_check: bool = False):
        return _gspmm.gspmm(indptr, indices, x, edge_values, t_indptr, t_indices, t_edge_ids,
                            message, reduce, bool(skip_index_check))

    setup_context = staticmethod(_gspmm.setup_context)
    backward = staticmethod(_gspmm.backward)


# ------------------------------------------------------- per-op modules
# The Function classes of operators in pykernels/torch/ops/<op>.py (registered there).
from . import _registry  # noqa: E402
from . import ops as _ops  # noqa: E402,F401  (imports every op module)

_registry.export(globals(), __all__, "function")
