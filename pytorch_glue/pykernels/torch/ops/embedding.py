"""embedding: the custom ops ``pykernels::embedding``, ``pykernels::embedding_backward`` and
``pykernels::embedding_renorm_``, and the public API built on them (exported by
pykernels.torch through _registry):

    functional.embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
                         scale_grad_by_freq=False, sparse=False)
                                          like torch.nn.functional.embedding
    nn.Embedding(num_embeddings, embedding_dim, ...)   like torch.nn.Embedding
                                          (from_pretrained too)
    autograd.EmbeddingFunction.apply(weight, indices, padding_idx=-1, scale_grad_by_freq=False)

    embedding(weight:(V,D), indices:(*) int32/int64, padding_idx, scale_grad_by_freq)
        -> (*, D) = weight[indices]   (padding_idx and scale_grad_by_freq matter for the
                                       gradient only; padding_idx -1 = none)
    embedding_backward(grad_output:(*,D), indices, num_weights, padding_idx,
                       scale_grad_by_freq) -> grad_weight:(num_weights, D), deterministic
    embedding_renorm_(weight, indices, max_norm, norm_type) -> None, mutates weight: the
        rows indices names whose norm exceeds max_norm are scaled to it (torch's
        embedding_renorm_)

Any strides; an index outside [0, V) raises pykernels.KernelError naming its position.
``embedding_fast`` / ``embedding_backward_fast`` / ``embedding_renorm_fast`` skip the
dispatcher in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
The gradient is dense: sparse=True is refused (NotImplementedError).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .. import _glue
from .._glue import call, empty, expect_dim, fast_path, plain_eager

_INDEX_DTYPES = (torch.int32, torch.int64)


def _expect_indices(indices: Tensor, op: str) -> None:
    if not isinstance(indices, torch.Tensor):
        raise TypeError(f"{op}: indices: expected a torch.Tensor, got {type(indices).__name__}")
    if indices.dtype not in _INDEX_DTYPES:
        raise TypeError(f"{op}: indices: expected an integer tensor (torch.int64 or torch.int32), "
                        f"got {indices.dtype}")
    if indices.dim() >= 8:
        raise TypeError(f"{op}: indices: at most 7 dims (the output has one more), "
                        f"got {indices.dim()}")

# ------------------------------------------------------------------ forward


def _embedding_outputs(weight: Tensor, indices: Tensor, padding_idx: int = -1,
                       scale_grad_by_freq: bool = False) -> Tensor:
    op = "pykernels::embedding"
    expect_dim(weight, 2, op, "weight")
    _expect_indices(indices, op)
    return empty((*indices.shape, weight.shape[1]), like=weight)


def _embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
               scale_grad_by_freq: bool = False) -> Tensor:
    """weight[indices]: weight (V, D), indices (*) int32/int64 -> (*, D)."""
    y = _embedding_outputs(weight, indices, padding_idx, scale_grad_by_freq)
    call(_C.embedding_forward, "pykernels::embedding", weight=weight, indices=indices, y=y)
    return y


embedding = torch.library.custom_op("pykernels::embedding", mutates_args=())(_embedding)
embedding.register_fake(_embedding_outputs)

# ----------------------------------------------------------------- backward


def _embedding_backward_outputs(grad_output: Tensor, indices: Tensor, num_weights: int,
                                padding_idx: int, scale_grad_by_freq: bool) -> Tensor:
    op = "pykernels::embedding_backward"
    _expect_indices(indices, op)
    expect_dim(grad_output, indices.dim() + 1, op, "grad_output")
    return empty((num_weights, grad_output.shape[-1]), like=grad_output)


def _embedding_backward(grad_output: Tensor, indices: Tensor, num_weights: int, padding_idx: int,
                        scale_grad_by_freq: bool) -> Tensor:
    """grad_weight (num_weights, D): row v = sum of grad_output[i] over indices[i] == v, in
    position order (/ their count when scale_grad_by_freq); 0 for unused rows and for
    padding_idx (-1 = none)."""
    dw = _embedding_backward_outputs(grad_output, indices, num_weights, padding_idx,
                                     scale_grad_by_freq)
    call(_C.embedding_backward, "pykernels::embedding_backward", int(padding_idx),
         bool(scale_grad_by_freq), dy=grad_output, indices=indices, dweight=dw)
    return dw


embedding_backward = torch.library.custom_op("pykernels::embedding_backward",
                                             mutates_args=())(_embedding_backward)
embedding_backward.register_fake(_embedding_backward_outputs)
embedding_backward_fast = fast_path(embedding_backward, _embedding_backward)

# ----------------------------------------------------------------- autograd


def embedding_setup_context(ctx, inputs, output) -> None:
    """Save indices, and only when weight needs a gradient (the shape of weight is kept as
    an int, not the tensor)."""
    weight, indices = inputs[0], inputs[1]
    ctx.num_weights = weight.shape[0]
    ctx.padding_idx = inputs[2] if len(inputs) > 2 else -1
    ctx.scale_grad_by_freq = inputs[3] if len(inputs) > 3 else False
    ctx.save_for_backward(indices if ctx.needs_input_grad[0] else None)


def embedding_grad(ctx, grad_output: Tensor):
    (indices,) = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None, None, None
    dw = embedding_backward_fast(grad_output, indices, ctx.num_weights, ctx.padding_idx,
                                 ctx.scale_grad_by_freq)
    return dw, None, None, None


embedding.register_autograd(embedding_grad, setup_context=embedding_setup_context)
# The C++ autograd node (torch_ext/embedding.cpp) in plain eager mode, where built.
embedding_fast = fast_path(
    embedding, _embedding, embedding_setup_context, embedding_grad,
    node=lambda fallback: _glue.torch_ext.EmbeddingNode(fallback, embedding_backward_fast))

# ------------------------------------------------------------------ renorm


def _embedding_renorm_(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> None:
    """In place: every row of weight that indices names (each once) whose norm_type-norm
    exceeds max_norm is scaled by max_norm / (norm + 1e-7)."""
    op = "pykernels::embedding_renorm_"
    expect_dim(weight, 2, op, "weight")
    _expect_indices(indices, op)
    call(_C.embedding_renorm, op, float(max_norm), float(norm_type), weight=weight,
         indices=indices)


embedding_renorm_ = torch.library.custom_op("pykernels::embedding_renorm_",
                                            mutates_args=("weight",))(_embedding_renorm_)


@embedding_renorm_.register_fake
def _embedding_renorm_fake(weight: Tensor, indices: Tensor, max_norm: float,
                           norm_type: float) -> None:
    op = "pykernels::embedding_renorm_"
    expect_dim(weight, 2, op, "weight")
    _expect_indices(indices, op)


def embedding_renorm_fast(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> None:
    """embedding_renorm_ without the dispatcher in plain eager mode; like the custom op (and
    torch's embedding_renorm_) it bumps weight's version counter, so autograd still sees a
    weight modified after an earlier use."""
    if not plain_eager((weight, indices)):
        return embedding_renorm_(weight, indices, max_norm, norm_type)
    _embedding_renorm_(weight, indices, max_norm, norm_type)
    if not weight.is_inference():
        torch.autograd.graph.increment_version(weight)
    return None

# ------------------------------------------------------------- public API


def functional_embedding(input: Tensor, weight: Tensor, padding_idx=None, max_norm=None,
                         norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                         sparse: bool = False) -> Tensor:
    """Like torch.nn.functional.embedding: weight[input] with input (*) int64/int32 and
    weight (V, D) -> (*, D).

    padding_idx: that row gets no gradient (negative: counted from the end, as torch);
    max_norm: the looked-up rows of weight whose norm_type-norm exceeds it are renormalised
    IN PLACE (under no_grad) before the lookup, as torch does; scale_grad_by_freq: each
    row's gradient is divided by the number of times its index occurs in input. The
    gradient is dense: sparse=True raises NotImplementedError.
    """
    if padding_idx is not None:  # torch's checks and messages
        if padding_idx > 0:
            if not padding_idx < weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if not padding_idx >= -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    else:
        padding_idx = -1
    if sparse:
        raise NotImplementedError("pykernels.torch.functional.embedding: sparse=True (a sparse "
                                  "gradient for weight) is not supported; use sparse=False")
    if max_norm is not None:
        with torch.no_grad():
            embedding_renorm_fast(weight, input, float(max_norm), float(norm_type))
    return embedding_fast(weight, input, int(padding_idx), bool(scale_grad_by_freq))


functional_embedding.__name__ = functional_embedding.__qualname__ = "embedding"


class Embedding(torch.nn.Embedding):
    """torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
    norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False,
    device=None, dtype=None) on libkernels; ``Embedding.from_pretrained(...)`` returns this
    class. A module built with sparse=True (a sparse gradient, which pykernels does not
    compute) runs torch's forward, so that pykernels.torch.convert() never breaks one."""

    def forward(self, input: Tensor) -> Tensor:
        if self.sparse:
            return super().forward(input)
        return functional_embedding(input, self.weight, self.padding_idx, self.max_norm,
                                    self.norm_type, self.scale_grad_by_freq, self.sparse)


class EmbeddingFunction(torch.autograd.Function):
    """weight[indices] with weight (V, D), indices (*) int32/int64; the gradient of weight
    leaves padding_idx (-1 = none) at 0 and is divided by the index counts when
    scale_grad_by_freq."""

    @staticmethod
    def forward(weight: Tensor, indices: Tensor, padding_idx: int = -1,
                scale_grad_by_freq: bool = False) -> Tensor:
        return embedding(weight, indices, padding_idx, scale_grad_by_freq)

    setup_context = staticmethod(embedding_setup_context)
    backward = staticmethod(embedding_grad)


_registry.add("embedding", functional=functional_embedding, module=Embedding,
              function=EmbeddingFunction)
