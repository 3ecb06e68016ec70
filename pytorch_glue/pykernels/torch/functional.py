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

__all__ = ["linear", "relu", "mse_loss", "dropout", "max_pool2d", "avg_pool2d", "softmax",
           "log_softmax", "nll_loss", "cross_entropy", "conv2d"]
# sigmoid, tanh, leaky_relu, gelu, softplus...: pykernels/torch/ops/<op>.py, added at the end


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = input weight^T + bias, like torch.nn.functional.linear.

    input: (*, in) (1-D included), weight: (out, in), bias: (out,) or None -> (*, out).
    Leading dims are flattened with reshape (a view when the strides allow it).
    """
    if input.dim() == 0:
        raise _shape_error("pykernels.torch.functional.linear: input: expected shape (*, in), "
                           "got a 0-d tensor")
    if input.dim() == 2:
        return _linear.linear_fast(input, weight, bias)
    y = _linear.linear_fast(input.reshape(-1, input.shape[-1]), weight, bias)
    return y.reshape(*input.shape[:-1], y.shape[-1])


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) element-wise, like torch.nn.functional.relu (any shape).

    ``inplace=True`` computes out of place and copies the result into ``input``
    (returning ``input``), so autograd and version counters behave as for torch's
    in-place relu_ (e.g. it raises on a leaf that requires grad).
    """
    result = _relu.relu_fast(input)
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
    return _mse_loss.mse_loss_fast(input, target, reduction)


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
        return _conv2d.conv2d_fast(input, weight, bias, stride, _pair(padding, op, "padding"),
                              dilation, groups)
    if padding == "valid":
        return _conv2d.conv2d_fast(input, weight, bias, stride, (0, 0), dilation, groups)
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
    y = _conv2d.conv2d_fast(input, weight, bias, stride, pads, dilation, groups)
    drop_h, drop_w = totals[0] % 2, totals[1] % 2
    return y[:, :, drop_h:, drop_w:] if drop_h or drop_w else y



# --------------------------------------------------------------------- pooling

from .. import _pool2d_params  # noqa: E402
from .ops import pool2d as _pool2d  # noqa: E402
from .ops._pooling import batched as _pool_batched  # noqa: E402


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling, like torch.nn.functional.max_pool2d (same arguments and defaults).

    input: (N, C, H, W) or (C, H, W). kernel_size, stride, padding, dilation: an int or an
    (h, w) pair; stride None = kernel_size. Returns the output, or (output, indices) with
    ``return_indices`` (int64 flat positions h*W + w, equal to torch's). Bad parameters
    raise ValueError, an input too small for the window pykernels.ShapeError (a
    ValueError), a wrong ndim ShapeError, a dtype other than float32/float64 TypeError.
    """
    op = "pykernels.torch.functional.max_pool2d"
    x, unbatched = _pool_batched(input, op)
    k, s, p, d = _pool2d_params(op, kernel_size, stride, padding, dilation)
    y, indices = _pool2d.max_pool2d_fast(x, list(k), list(s), list(p), list(d),
                                         bool(ceil_mode))
    if unbatched:
        y, indices = y.squeeze(0), indices.squeeze(0)
    return (y, indices) if return_indices else y


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling, like torch.nn.functional.avg_pool2d (same arguments and defaults).

    input: (N, C, H, W) or (C, H, W); errors as :func:`max_pool2d`; divisor_override must be
    None or a positive int (ValueError otherwise, as torch rejects 0).
    """
    op = "pykernels.torch.functional.avg_pool2d"
    x, unbatched = _pool_batched(input, op)
    k, s, p, _ = _pool2d_params(op, kernel_size, stride, padding)
    y = _pool2d.avg_pool2d_fast(x, list(k), list(s), list(p), bool(ceil_mode),
                                bool(count_include_pad),
                                None if divisor_override is None else int(divisor_override))
    return y.squeeze(0) if unbatched else y




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
    return _softmax.softmax_fast(input, dim)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype: Optional[torch.dtype] = None) -> Tensor:
    """(x - max) - log(sum(exp(x - max))) along dim, like
    torch.nn.functional.log_softmax."""
    input, dim = _softmax_args("log_softmax", input, dim, _stacklevel, dtype)
    return _softmax.log_softmax_fast(input, dim)


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
    return _nll_loss.nll_loss_fast(input, target, weight, reduction, ignore_index)[0]


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
        return _cross_entropy.cross_entropy_fast(input, target, weight, reduction,
                                                 ignore_index, float(label_smoothing))[0]
    op = "pykernels.torch.functional.cross_entropy"
    if target.shape != input.shape:
        raise _shape_error(f"{op}: target: class probabilities must have input's shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    if input.dim() == 0:
        raise _shape_error(f"{op}: input: expected shape (N, C, d1, ..., dk) or (C,), got a "
                           "0-d tensor")
    cd = 0 if input.dim() == 1 else 1
    classes = input.shape[cd]
    logp = _softmax.log_softmax_fast(input, cd)
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

from .ops import dropout as _dropout  # noqa: E402


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Dropout like torch.nn.functional.dropout: zeroes each element with probability p and
    scales the rest by 1 / (1 - p); p outside [0, 1] raises ValueError.

    As torch, returns ``input`` itself when not training, for p = 0 and for an empty
    input. The mask's seed is drawn from torch's default generator, so
    ``torch.manual_seed`` makes it repeatable (the mask itself is libkernels' Philox
    stream, not torch's). ``inplace=True`` writes the result into ``input``.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    result, _ = _dropout.dropout_fast(input, float(p), _dropout.draw_seed())
    return input.copy_(result) if inplace else result


# --------------------------------------------------------------------- graph

from .graph import Graph, _sparse_csr_indices  # noqa: E402
from .ops import gspmm as _gspmm  # noqa: E402

__all__ += ["gspmm", "spmm"]

_SPMM_REDUCES = {"sum": "sum", "mean": "mean", "amax": "max", "amin": "min"}


def _needs_grad(t: Tensor) -> bool:
    return t.requires_grad and torch.is_grad_enabled()


def gspmm(graph: Graph, x: Tensor, message: str = "copy_u", reduce: str = "sum",
          edge_values: Optional[Tensor] = None) -> Tensor:
    """Generalized sparse-dense product over ``graph`` (a :class:`pykernels.torch.Graph`):

        y[v] = REDUCE over the edges u -> v of  x[u]                 (message='copy_u')
                                                x[u] * edge_values[e]  (message='u_mul_e')

    x: (num_src, F), edge_values: (num_edges,) in the graph's edge order (see Graph) ->
    y: (num_dst, F). reduce: 'sum', 'mean', 'max' or 'min' (DGL's names); a node without
    in-edges gets 0. Differentiable in x and edge_values (max/min: the gradient goes to
    the first winning edge). The graph's transpose, needed for x's gradient, is built
    once and cached on the graph. Bad names raise ValueError, an x whose rows are not
    num_src pykernels.ShapeError.
    """
    op = "pykernels.torch.functional.gspmm"
    if not isinstance(graph, Graph):
        raise TypeError(f"{op}: graph: expected a pykernels.torch.Graph, got "
                        f"{type(graph).__name__}")
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[0] != graph.num_src:
        raise _shape_error(f"{op}: x: expected shape ({graph.num_src}, F) (num_src, features), "
                           f"got {tuple(x.shape)}")
    if edge_values is not None:
        if not isinstance(edge_values, Tensor):
            raise TypeError(f"{op}: edge_values: expected a torch.Tensor, got "
                            f"{type(edge_values).__name__}")
        if edge_values.shape != (graph.num_edges,):
            raise _shape_error(f"{op}: edge_values: expected shape ({graph.num_edges},), got "
                               f"{tuple(edge_values.shape)}")
        edge_values = graph.edge_values_in_csr_order(edge_values)
    t = graph.transpose() if _needs_grad(x) else (None, None, None)
    y, _ = _gspmm.gspmm_fast(graph.indptr, graph.indices, x, edge_values, *t, message, reduce, True)
    return y


def spmm(adj: Tensor, x: Tensor, reduce: str = "sum") -> Tensor:
    """``adj @ x`` reduced per row, like ``torch.sparse.mm(adj, x, reduce=reduce)``.

    adj: a 2-D torch sparse CSR tensor (M, N) (COO is accepted and coalesced first, as
    torch does with COO), x: (N, F) dense -> (M, F): ``y[i] = REDUCE_k adj[i, k] * x[k]``
    over the stored entries of row i (duplicate column indices in a CSR row count
    separately, as in torch); reduce: 'sum', 'mean', 'amax', 'amin'; a row without entries
    gives 0. Differentiable in x and in adj's values: a leaf ``adj`` with
    ``requires_grad`` gets a sparse ``adj.grad`` of its pattern, and for
    ``adj = torch.sparse_csr_tensor(crow, col, values)`` the gradient reaches ``values``,
    as with torch.sparse.mm. adj's structure is checked on every call (KernelError on a
    malformed one); its transpose, for x's gradient, is built per call (cache a
    :class:`Graph` and use :func:`gspmm` to reuse it). torch.compile does not take sparse
    tensors (torch.sparse.mm neither): in compiled code use ``Graph.from_sparse(adj)``
    (built outside) and :func:`gspmm` with ``edge_values=adj.values()``.
    """
    op = "pykernels.torch.functional.spmm"
    try:
        r = _SPMM_REDUCES[reduce]
    except (KeyError, TypeError):
        raise ValueError(f"{op}: reduce must be one of 'sum', 'mean', 'amax', 'amin', "
                         f"got {reduce!r}") from None
    if not isinstance(adj, Tensor):
        raise TypeError(f"{op}: adj: expected a torch sparse tensor, got {type(adj).__name__}")
    if adj.dim() != 2:
        raise _shape_error(f"{op}: adj: expected 2 dims, got shape {tuple(adj.shape)}")
    if adj.layout == torch.sparse_coo:
        adj = adj.coalesce()
    indptr, indices = _sparse_csr_indices(adj, op)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[0] != adj.shape[1]:
        raise _shape_error(f"{op}: x: expected shape ({adj.shape[1]}, F) for adj of shape "
                           f"{tuple(adj.shape)}, got {tuple(x.shape)}")
    if _needs_grad(x):
        # csr_transpose checks the graph (O(E), on CPU): the products need not check again
        t = _gspmm.csr_transpose_fast(indptr, indices, adj.shape[1])
        y, _ = _gspmm.gspmm_fast(indptr, indices, x, adj.values(), *t, "u_mul_e", r, True)
    else:
        y, _ = _gspmm.gspmm_fast(indptr, indices, x, adj.values(), None, None, None, "u_mul_e", r,
                            False)
    return y


# ------------------------------------------------------- per-op modules
# The functions of operators in pykernels/torch/ops/<op>.py (registered there).
from . import _registry  # noqa: E402
from . import ops as _ops  # noqa: E402,F401  (imports every op module)

_registry.export(globals(), __all__, "functional")
