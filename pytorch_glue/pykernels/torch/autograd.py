"""Public torch.autograd.Function classes over the ``torch.ops.pykernels`` custom ops.

Each calls only the custom ops, and shares its ``setup_context``/``backward`` with
the op's ``register_autograd`` registration (see pykernels/torch/ops/<op>.py), so
there is one gradient formula per op.

    LinearFunction.apply(input:(N,in), weight:(out,in), bias:(out,) or None) -> (N,out)
    ReLUFunction.apply(input) -> max(input, 0)
    MSELossFunction.apply(input, target, reduction='mean') -> loss
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .ops import linear as _linear
from .ops import mse_loss as _mse_loss
from .ops import relu as _relu

__all__ = ["LinearFunction", "ReLUFunction", "MSELossFunction"]
__all__ += ["Conv2dFunction"]


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



# ----------------------------------------------------------------- activations



# ---------------------------------------------------------- softmax and losses



# --------------------------------------------------------------------- dropout
