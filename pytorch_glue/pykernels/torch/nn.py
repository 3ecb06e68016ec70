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
__all__ += ["Softmax", "LogSoftmax", "NLLLoss", "CrossEntropyLoss"]


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



# --------------------------------------------------------------------- pooling



# ----------------------------------------------------------------- activations



# ---------------------------------------------------------- softmax and losses


class Softmax(torch.nn.Softmax):
    """torch.nn.Softmax(dim=None) on libkernels."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(torch.nn.LogSoftmax):
    """torch.nn.LogSoftmax(dim=None) on libkernels."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)


class NLLLoss(torch.nn.NLLLoss):
    """torch.nn.NLLLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction='mean') on libkernels (weight is the module's buffer, as torch's)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(torch.nn.CrossEntropyLoss):
    """torch.nn.CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100,
    reduce=None, reduction='mean', label_smoothing=0.0) on libkernels."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)




# --------------------------------------------------------------------- dropout
