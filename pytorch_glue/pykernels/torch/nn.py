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

__all__ = ["Linear", "ReLU", "MSELoss", "Flatten"]


class Linear(torch.nn.Linear):
    """torch.nn.Linear(in_features, out_features, bias=True, device=None, dtype=None) on
    libkernels. input: (*, in_features) -> (*, out_features)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)


class ReLU(torch.nn.ReLU):
    """torch.nn.ReLU(inplace=False) on libkernels. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)


class Flatten(torch.nn.Flatten):
    """torch.nn.Flatten(start_dim=1, end_dim=-1): a view (or a copy where the strides
    do not allow one), no kernel. Here so that a model built from
    pykernels.torch.nn needs nothing from torch.nn."""

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)


class MSELoss(torch.nn.MSELoss):
    """torch.nn.MSELoss(size_average=None, reduce=None, reduction='mean') on libkernels.
    input and target of one shape (no broadcasting)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


# ----------------------------------------------------------------- convolution



# --------------------------------------------------------------------- pooling



# ----------------------------------------------------------------- activations



# ---------------------------------------------------------- softmax and losses



# --------------------------------------------------------------------- dropout
