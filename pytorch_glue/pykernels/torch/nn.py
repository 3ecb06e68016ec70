"""Mirrors of torch.nn modules running on libkernels.

Each subclasses its torch.nn counterpart and overrides only ``forward``, so the
constructor arguments, parameter names and shapes, default initialisation (from
the same torch.manual_seed the same weights) and state_dict are torch's own:
``load_state_dict`` works both ways.
"""
from __future__ import annotations

from typing import Optional

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


# ---------------------------------------------------------- attention, transformer

from torch.nn.modules import linear as _torch_linear  # noqa: E402
from torch.nn.modules import transformer as _torch_transformer  # noqa: E402

__all__ += ["NonDynamicallyQuantizableLinear", "MultiheadAttention", "TransformerEncoderLayer",
            "TransformerDecoderLayer", "TransformerEncoder"]


class NonDynamicallyQuantizableLinear(_torch_linear.NonDynamicallyQuantizableLinear):
    """torch.nn.MultiheadAttention's ``out_proj`` class (a torch.nn.Linear that dynamic
    quantization leaves alone) on libkernels; its twin for convert()."""

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)


class MultiheadAttention(torch.nn.MultiheadAttention):
    """torch.nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
    add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None, batch_first=False,
    device=None, dtype=None) on libkernels: same parameters (in_proj_weight, or
    q/k/v_proj_weight when kdim/vdim differ from embed_dim; in_proj_bias; bias_k/bias_v;
    ``out_proj``, here a pykernels :class:`NonDynamicallyQuantizableLinear`) and state_dict.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` has torch's semantics (batched and
    unbatched input, batch_first, bool/float masks) through
    :func:`pykernels.torch.functional.multi_head_attention_forward`: projections on
    pykernels' linear, the attention on the fused scaled_dot_product_attention when
    ``need_weights=False``, on materialised weights (pykernels linear, softmax, dropout)
    when True. Unlike torch's module it has no inference fast path
    (torch._native_multi_head_attention): every call runs on libkernels.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None) -> None:
        super().__init__(embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, kdim,
                         vdim, batch_first, device, dtype)
        self.out_proj.__class__ = NonDynamicallyQuantizableLinear

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Optional[Tensor] = None, need_weights: bool = True,
                attn_mask: Optional[Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        tnf = torch.nn.functional
        is_batched = query.dim() == 3
        key_padding_mask = tnf._canonical_mask(
            mask=key_padding_mask, mask_name="key_padding_mask",
            other_type=tnf._none_or_dtype(attn_mask), other_name="attn_mask",
            target_type=query.dtype)
        attn_mask = tnf._canonical_mask(mask=attn_mask, mask_name="attn_mask", other_type=None,
                                        other_name="", target_type=query.dtype,
                                        check_other=False)
        if self.batch_first and is_batched:
            # as torch: keep the identities query is key is value (they pick the projection)
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        attn_output, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            attn_output = attn_output.transpose(1, 0)
        return attn_output, weights


def _pk_activation(activation):
    """A Transformer layer's ``activation`` on libkernels: torch.nn.functional.relu / gelu
    (what the layers store for 'relu' / 'gelu') become pykernels' functions; a module
    (nn.ReLU(), nn.GELU(), ...) is a child layer that convert() switches itself; any other
    callable is called as it is."""
    if activation is torch.nn.functional.relu:
        return F.relu
    if activation is torch.nn.functional.gelu:
        return F.gelu
    return activation


class TransformerEncoderLayer(torch.nn.TransformerEncoderLayer):
    """torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation=relu, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    device=None, dtype=None) on libkernels.

    Same submodules and state_dict; built here, its self_attn, linear1/2, norm1/2 and
    dropouts are pykernels twins (convert() switches torch's own). ``forward`` is torch's
    without its inference fast path (torch._transformer_encoder_layer_fwd, which would run
    the whole layer in one ATen kernel in eval mode under no_grad): every call goes
    through the submodules, and a 'relu' / 'gelu' activation runs on pykernels.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _switch_children(self)

    def forward(self, src: Tensor, src_mask: Optional[Tensor] = None,
                src_key_padding_mask: Optional[Tensor] = None,
                is_causal: bool = False) -> Tensor:
        tnf = torch.nn.functional
        src_key_padding_mask = tnf._canonical_mask(
            mask=src_key_padding_mask, mask_name="src_key_padding_mask",
            other_type=tnf._none_or_dtype(src_mask), other_name="src_mask",
            target_type=src.dtype)
        src_mask = tnf._canonical_mask(mask=src_mask, mask_name="src_mask", other_type=None,
                                       other_name="", target_type=src.dtype, check_other=False)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask,
                                   is_causal=is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask,
                                              is_causal=is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(_pk_activation(self.activation)(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(torch.nn.TransformerDecoderLayer):
    """torch.nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation=relu, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
    device=None, dtype=None) on libkernels: torch's forward over pykernels submodules
    (self_attn, multihead_attn, linear1/2, norm1/2/3, dropouts), with a 'relu' / 'gelu'
    activation on pykernels."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _switch_children(self)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(_pk_activation(self.activation)(self.linear1(x))))
        return self.dropout3(x)


class TransformerEncoder(torch.nn.TransformerEncoder):
    """torch.nn.TransformerEncoder(encoder_layer, num_layers, norm=None,
    enable_nested_tensor=True, mask_check=True) on libkernels (its layers are deep copies
    of ``encoder_layer``: give it a pykernels layer, or convert() the whole encoder).

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)`` is torch's
    without the nested-tensor fast path: the layers always run on the padded batch. Where
    torch would have taken that path (eval, no grad, batch_first, a left-aligned
    src_key_padding_mask, no mask, ...) its output has zeros at the padded positions
    (before ``norm``); this forward zeroes them too, so the outputs agree.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _switch_children(self)

    def forward(self, src: Tensor, mask: Optional[Tensor] = None,
                src_key_padding_mask: Optional[Tensor] = None,
                is_causal: Optional[bool] = None) -> Tensor:
        tnf = torch.nn.functional
        src_key_padding_mask = tnf._canonical_mask(
            mask=src_key_padding_mask, mask_name="src_key_padding_mask",
            other_type=tnf._none_or_dtype(mask), other_name="mask", target_type=src.dtype)
        mask = tnf._canonical_mask(mask=mask, mask_name="mask", other_type=None, other_name="",
                                   target_type=src.dtype, check_other=False)
        zero_padded = self._torch_would_nest(src, mask, src_key_padding_mask)
        seq_len = _torch_transformer._get_seq_len(src, self.layers[0].self_attn.batch_first)
        is_causal = _torch_transformer._detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal,
                         src_key_padding_mask=src_key_padding_mask)
        if zero_padded:
            output = output.masked_fill((src_key_padding_mask != 0).unsqueeze(-1), 0.0)
        if self.norm is not None:
            output = self.norm(output)
        return output

    def _torch_would_nest(self, src: Tensor, mask: Optional[Tensor],
                          src_key_padding_mask: Optional[Tensor]) -> bool:
        """Whether torch.nn.TransformerEncoder.forward would run these arguments as a
        nested tensor (its conditions, in its order)."""
        first = self.layers[0]
        if (not torch.backends.mha.get_fastpath_enabled()
                or not getattr(self, "use_nested_tensor", False) or first.training
                or src.dim() != 3 or src_key_padding_mask is None or src.is_nested
                or mask is not None or torch.is_autocast_enabled()):
            return False
        if getattr(self, "mask_check", True):
            if torch.compiler.is_compiling():
                return False
            if not torch._nested_tensor_from_mask_left_aligned(
                    src, src_key_padding_mask.logical_not()):
                return False
        attn = first.self_attn
        tensors = (src, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight,
                   attn.out_proj.bias, first.norm1.weight, first.norm1.bias,
                   first.norm2.weight, first.norm2.bias, first.linear1.weight,
                   first.linear1.bias, first.linear2.weight, first.linear2.bias)
        if any(t is None for t in tensors) or torch.overrides.has_torch_function(tensors):
            return False
        if src.device.type not in ("cpu", "cuda"):
            return False
        return not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def _torch_signature(cls) -> None:
    """Give a twin's ``__init__(*args, **kwargs)`` its torch class's signature (help(),
    inspect.signature)."""
    import inspect
    cls.__init__.__signature__ = inspect.signature(cls.__bases__[0].__init__)


for _cls in (TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder):
    _torch_signature(_cls)


def _switch_children(module: torch.nn.Module) -> None:
    """Give a layer built by a pykernels container twin (whose torch constructor made
    torch.nn children) the pykernels twins of those children, in place."""
    from .conversion import convert
    convert(module)


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
