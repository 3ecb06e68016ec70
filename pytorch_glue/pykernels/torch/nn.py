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

__all__ = ["Linear", "ReLU", "MSELoss", "Flatten", "Dropout", "MaxPool2d", "AvgPool2d", "Softmax",
           "LogSoftmax", "NLLLoss", "CrossEntropyLoss", "Conv2d"]
# Sigmoid, Tanh, LeakyReLU, GELU, Softplus...: pykernels/torch/ops/<op>.py, added at the end


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


class MaxPool2d(torch.nn.MaxPool2d):
    """torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
    return_indices=False, ceil_mode=False) on libkernels."""

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(torch.nn.AvgPool2d):
    """torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None) on libkernels."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)




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


class Dropout(torch.nn.Dropout):
    """torch.nn.Dropout(p=0.5, inplace=False) on libkernels: identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


# --------------------------------------------------------------------- graph

from .. import _shape_error  # noqa: E402
from .graph import Graph  # noqa: E402

__all__ += ["GraphConv"]  # no torch.nn namesake: convert() leaves it out of its table


class GraphConv(torch.nn.Module):
    """DGL's ``GraphConv(in_feats, out_feats, norm='both', weight=True, bias=True,
    activation=None)`` (Kipf & Welling's graph convolution) on libkernels, over a
    :class:`pykernels.torch.Graph`.

    Parameters as DGL's: ``weight`` (in_feats, out_feats), Glorot-uniform initialised, and
    ``bias`` (out_feats,), zeros (state dicts load both ways). ``forward(graph, feat,
    weight=None, edge_weight=None)``: feat (num_src, in_feats) (or a (src, dst) pair, of
    which the source features are used) -> (num_dst, out_feats):

        norm='both'   D_in^-1/2 A D_out^-1/2 X W   (degrees clamped to >= 1)
        norm='right'  mean over in-edges: D_in^-1 A X W
        norm='left'   A D_out^-1 X W
        norm='none'   A X W

    then + bias, then ``activation``. ``edge_weight`` (num_edges,), in the graph's edge
    order, weights each message (A's entries); degrees stay unweighted, as DGL's.
    ``weight`` given to forward replaces a module built with ``weight=False``. X W is
    computed before the aggregation when in_feats > out_feats (fewer features to
    aggregate), after it otherwise; products run on pykernels' linear and gspmm kernels.
    Unlike DGL, nodes without in-edges are allowed (they get bias only). Works with
    torch.compile(fullgraph=True).
    """

    def __init__(self, in_feats: int, out_feats: int, norm: str = "both", weight: bool = True,
                 bias: bool = True, activation=None):
        super().__init__()
        if norm not in ("none", "both", "right", "left"):
            raise ValueError(f'Invalid norm value. Must be either "none", "both", "right" or '
                             f'"left". But got "{norm}".')
        self._in_feats, self._out_feats, self._norm = in_feats, out_feats, norm
        if weight:
            self.weight = torch.nn.Parameter(torch.empty(in_feats, out_feats))
        else:
            self.register_parameter("weight", None)
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_feats))
        else:
            self.register_parameter("bias", None)
        self._activation = activation
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weight, zero bias (DGL's)."""
        if self.weight is not None:
            torch.nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, graph: Graph, feat, weight: Tensor = None, edge_weight: Tensor = None):
        feat_src = feat[0] if isinstance(feat, (tuple, list)) else feat
        if feat_src.dim() != 2 or feat_src.shape[0] != graph.num_src:
            raise _shape_error(f"pykernels.torch.nn.GraphConv: feat: expected shape "
                               f"({graph.num_src}, {self._in_feats}) (num_src, in_feats), got "
                               f"{tuple(feat_src.shape)}")
        if weight is not None and self.weight is not None:
            raise ValueError("External weight is provided while at the same time the module "
                             "has defined its own weight parameter. Please create the module "
                             "with flag weight=False.")
        weight = self.weight if weight is None else weight
        message = "copy_u" if edge_weight is None else "u_mul_e"
        reduce = "mean" if self._norm == "right" else "sum"
        if self._norm in ("left", "both"):
            deg = graph.out_degrees().to(feat_src.dtype).clamp(min=1)
            scale = deg.rsqrt() if self._norm == "both" else deg.reciprocal()
            feat_src = feat_src * scale.unsqueeze(1)
        bias = self.bias
        if weight is not None and self._in_feats > self._out_feats:
            rst = F.gspmm(graph, F.linear(feat_src, weight.t()), message, reduce, edge_weight)
        else:
            rst = F.gspmm(graph, feat_src, message, reduce, edge_weight)
            if weight is not None:
                # bias fused into the product unless a normalisation still follows
                fuse = self._norm != "both"
                rst = F.linear(rst, weight.t(), bias if fuse else None)
                if fuse:
                    bias = None
        if self._norm == "both":
            deg = graph.in_degrees().to(rst.dtype).clamp(min=1)
            rst = rst * deg.rsqrt().unsqueeze(1)
        if bias is not None:
            rst = rst + bias
        if self._activation is not None:
            rst = self._activation(rst)
        return rst

    def extra_repr(self) -> str:
        summary = "in={_in_feats}, out={_out_feats}, normalization={_norm}"
        if "_activation" in self.__dict__ and self._activation is not None:
            summary += ", activation={_activation}"
        return summary.format(**self.__dict__)


# ------------------------------------------------------- per-op modules
# The module classes of operators in pykernels/torch/ops/<op>.py (registered there).
from . import _registry  # noqa: E402
from . import ops as _ops  # noqa: E402,F401  (imports every op module)

_registry.export(globals(), __all__, "module")
