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
__all__ += ["conv2d"]


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

from .. import _pair  # noqa: E402
from .ops import conv2d as _conv2d  # noqa: E402


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution, like torch.nn.functional.conv2d.

    input: (N, C, H, W) or unbatched (C, H, W); weight: (O, C/groups, kH, kW); bias: (O,)
    or None -> (N, O, Ho, Wo) (or (O, Ho, Wo)). stride, dilation: an int or an (h, w)
    pair; padding: an int, a pair, 'valid' (no padding) or 'same' (output of the input's
    size; stride 1 only; an odd total padding puts the extra row/column at the
    bottom/right, as torch does).
    """
    op = "pykernels.torch.functional.conv2d"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input: expected a torch.Tensor, got {type(input).__name__}")
    if input.dim() not in (3, 4):
        raise _shape_error(f"{op}: input: expected 3 dims (C, H, W) or 4 dims (N, C, H, W), "
                           f"got shape {tuple(input.shape)}")
    if not isinstance(weight, Tensor) or weight.dim() != 4:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise _shape_error(f"{op}: weight: expected 4 dims (O, C/groups, kH, kW), got {shape}")
    if input.dim() == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    stride, dilation = _pair(stride, op, "stride"), _pair(dilation, op, "dilation")
    if not isinstance(padding, str):
        return _conv2d.conv2d(input, weight, bias, stride, _pair(padding, op, "padding"),
                              dilation, groups)
    if padding == "valid":
        return _conv2d.conv2d(input, weight, bias, stride, (0, 0), dilation, groups)
    if padding != "same":
        raise ValueError(f"{op}: padding: expected an int, a pair of ints, 'valid' or 'same', "
                         f"got {padding!r}")
    if stride != (1, 1):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                         f"(stride {stride})")
    # Total padding d (k - 1) per dim: pad both sides by its larger half, then drop the
    # first row/column where the total is odd (torch pads the extra one at the end).
    totals = [dilation[d] * (weight.shape[2 + d] - 1) for d in range(2)]
    pads = tuple((t + 1) // 2 for t in totals)
    y = _conv2d.conv2d(input, weight, bias, stride, pads, dilation, groups)
    drop_h, drop_w = totals[0] % 2, totals[1] % 2
    return y[:, :, drop_h:, drop_w:] if drop_h or drop_w else y



# --------------------------------------------------------------------- pooling



# ----------------------------------------------------------------- activations



# ---------------------------------------------------------- softmax and losses



# --------------------------------------------------------------------- dropout
