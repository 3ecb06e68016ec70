"""Mirrors of torch.nn.functional running on libkernels (same names, argument names
and defaults). Autograd, torch.compile(fullgraph=True) and inference mode work
through the ``torch.ops.pykernels`` custom ops."""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from .. import _shape_error
from . import _glue
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

    ``inplace=True`` overwrites ``input`` and returns it, with autograd and version
    counters as for torch's relu_ (e.g. it raises on a leaf that requires grad): in place
    where the C++ node runs it, else computed out of place and copied in
    (_glue.run_in_place).
    """
    return _glue.run_in_place(_relu.relu_fast, input) if inplace else _relu.relu_fast(input)


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


# ----------------------------------------------------------- multi-head attention

__all__ += ["multi_head_attention_forward"]


def _bmm(a: Tensor, b: Tensor) -> Tensor:
    """a:(B, n, k) @ b:(B, k, m) -> (B, n, m), one pykernels linear per batch entry
    (``a[i] @ b[i] = linear(a[i], b[i]^T)``). Used only where attention weights must be
    materialised (need_weights=True); the fused path is one scaled_dot_product_attention."""
    if a.shape[0] == 0:
        return a.new_zeros((0, a.shape[1], b.shape[2]))
    return torch.stack([linear(a[i], b[i].transpose(0, 1)) for i in range(a.shape[0])])


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Optional[Tensor], in_proj_bias: Optional[Tensor],
    bias_k: Optional[Tensor], bias_v: Optional[Tensor], add_zero_attn: bool,
    dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Optional[Tensor],
    training: bool = True, key_padding_mask: Optional[Tensor] = None,
    need_weights: bool = True, attn_mask: Optional[Tensor] = None,
    use_separate_proj_weight: bool = False, q_proj_weight: Optional[Tensor] = None,
    k_proj_weight: Optional[Tensor] = None, v_proj_weight: Optional[Tensor] = None,
    static_k: Optional[Tensor] = None, static_v: Optional[Tensor] = None,
    average_attn_weights: bool = True, is_causal: bool = False,
):
    """Multi-head attention like torch.nn.functional.multi_head_attention_forward (same
    arguments, defaults, shapes and mask rules; sequence-first: query (L, N, E) or
    unbatched (L, E)). Returns (attn_output, attn_output_weights or None).

    The projections run on pykernels' linear. With ``need_weights=False`` the attention
    is one call of the fused :func:`scaled_dot_product_attention` (dropout inside it);
    with ``need_weights=True`` the weights softmax(q k^T / sqrt(head_dim) + mask) are
    materialised: the products are pykernels linears (one per batch*head), the softmax
    and the dropout on the weights are pykernels', as in torch; the returned weights
    are the dropped-out ones, averaged over heads when ``average_attn_weights``.
    Masks: bool (True = masked out, as torch's MultiheadAttention) or float (added);
    key_padding_mask and attn_mask are merged as torch merges them. Dropout masks are
    drawn from libkernels' Philox stream (seeded from torch's generator), so they are
    not torch's.
    """
    tnf = torch.nn.functional
    is_batched = tnf._mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)

    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = tnf._canonical_mask(
        mask=key_padding_mask, mask_name="key_padding_mask",
        other_type=tnf._none_or_dtype(attn_mask), other_name="attn_mask",
        target_type=query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the fused kernel applies the causal mask itself
    else:
        attn_mask = tnf._canonical_mask(mask=attn_mask, mask_name="attn_mask", other_type=None,
                                        other_name="", target_type=query.dtype,
                                        check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal

    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, "
                             f"but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    # in-projection (torch's _in_projection_packed / _in_projection, on pykernels linear)
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        E = query.size(-1)
        if key is value and query is key:
            proj = linear(query, in_proj_weight, in_proj_bias)
            proj = proj.unflatten(-1, (3, E)).unsqueeze(0).transpose(0, -2).squeeze(-2)
            q, k, v = proj.contiguous()
        elif key is value:
            w_q, w_kv = in_proj_weight.split([E, E * 2])
            b_q, b_kv = (None, None) if in_proj_bias is None else in_proj_bias.split([E, E * 2])
            q = linear(query, w_q, b_q)
            kv = linear(key, w_kv, b_kv)
            k, v = kv.unflatten(-1, (2, E)).unsqueeze(0).transpose(0, -2).squeeze(-2).contiguous()
        else:
            w_q, w_k, w_v = in_proj_weight.chunk(3)
            b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
            q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, "
                                 "k_proj_weight or v_proj_weight is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        Eq, Ek, Ev = query.size(-1), key.size(-1), value.size(-1)
        for name, w, shape in (("query", q_proj_weight, (Eq, Eq)), ("key", k_proj_weight, (Eq, Ek)),
                               ("value", v_proj_weight, (Eq, Ev))):
            if w.shape != shape:
                raise AssertionError(f"expecting {name} weights shape of {shape}, but got "
                                     f"{w.shape}")
        q = linear(query, q_proj_weight, b_q)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if attn_mask.shape != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if attn_mask.shape != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    pad = torch.nn.functional.pad  # a zero column for the masks: no arithmetic
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = torch.cat([k, bias_k.repeat(1, bsz, 1)])
        v = torch.cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be set or both be None")

    q = q.view(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.view(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        if static_k.size(0) != bsz * num_heads or static_k.size(2) != head_dim:
            raise AssertionError(f"expecting static_k of shape ({bsz * num_heads}, S, "
                                 f"{head_dim}), but got {tuple(static_k.shape)}")
        k = static_k
    if static_v is None:
        v = v.view(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        if static_v.size(0) != bsz * num_heads or static_v.size(2) != head_dim:
            raise AssertionError(f"expecting static_v of shape ({bsz * num_heads}, S, "
                                 f"{head_dim}), but got {tuple(static_v.shape)}")
        v = static_v

    if add_zero_attn:
        zeros = torch.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = torch.cat([k, zeros], dim=1)
        v = torch.cat([v, zeros.to(v.dtype)], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    src_len = k.size(1)
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise AssertionError(f"Expected key_padding_mask of shape {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        key_padding_mask = (key_padding_mask.view(bsz, 1, 1, src_len)
                            .expand(-1, num_heads, -1, -1).reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if not training:
        dropout_p = 0.0

    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        weights = _bmm(q_scaled, k.transpose(-2, -1))
        if attn_mask is not None:
            weights = weights + attn_mask
        weights = softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        attn_output = _bmm(weights, v)
        attn_output = attn_output.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
        attn_output = attn_output.view(tgt_len, bsz, attn_output.size(1))
        weights = weights.view(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            attn_output, weights = attn_output.squeeze(1), weights.squeeze(0)
        return attn_output, weights

    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.view(bsz, num_heads, -1, src_len)
    q = q.view(bsz, num_heads, tgt_len, head_dim)
    k = k.view(bsz, num_heads, src_len, head_dim)
    v = v.view(bsz, num_heads, src_len, head_dim)
    attn_output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    attn_output = attn_output.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
    attn_output = attn_output.view(tgt_len, bsz, attn_output.size(1))
    if not is_batched:
        attn_output = attn_output.squeeze(1)
    return attn_output, None


# ------------------------------------------------------- per-op modules
# The functions of operators in pykernels/torch/ops/<op>.py (registered there).
from . import _registry  # noqa: E402
from . import ops as _ops  # noqa: E402,F401  (imports every op module)

_registry.export(globals(), __all__, "functional")
