"""Mirrors of torch.nn modules running on libkernels.

Each subclasses its torch.nn counterpart and overrides only ``forward``, so the
constructor arguments, parameter names and shapes, default initialisation (from
the same torch.manual_seed the same weights) and state_dict are torch's own:
``load_state_dict`` works both ways.
"""
from __future__ import annotations

import torch
from torch import Tensor

from . import functional as F

__all__ = ["Linear", "ReLU", "MSELoss"]
__all__ += ["Conv2d"]


class Linear(torch.nn.Linear):
    """torch.nn.Linear(in_features, out_features, bias=True, device=None, dtype=None) on
    libkernels. input: (*, in_features) -> (*, out_features)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)


class ReLU(torch.nn.ReLU):
    """torch.nn.ReLU(inplace=False) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)


class MSELoss(torch.nn.MSELoss):
    """torch.nn.MSELoss(size_average=None, reduce=None, reduction='mean') on libkernels.
    input and target of one shape (no broadcasting)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


# ----------------------------------------------------------------- convolution


class Conv2d(torch.nn.Conv2d):
    """torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    dilation=1, groups=1, bias=True, padding_mode='zeros', device=None, dtype=None) on
    libkernels. input: (N, C, H, W) or (C, H, W). padding_mode 'zeros' pads inside the
    kernel; 'reflect', 'replicate' and 'circular' pad with torch.nn.functional.pad (as
    torch does) and then convolve without padding."""

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            padded = torch.nn.functional.pad(input, self._reversed_padding_repeated_twice,
                                             mode=self.padding_mode)
            return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                            self.groups)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)



# --------------------------------------------------------------------- pooling



# ----------------------------------------------------------------- activations



# ---------------------------------------------------------- softmax and losses



# --------------------------------------------------------------------- dropout
