"""embedding on jax.Arrays (targets: jax_ffi/embedding.cpp, kernels/embedding.h):

    embedding(indices, weight, padding_idx=None, scale_grad_by_freq=False) -> y
        indices:(*) integer, weight:(V, D) float -> y:(*, D) = weight[indices]

torch.nn.functional.embedding's arguments (what flax's Embed computes as
jnp.take(embedding, inputs, axis=0)). indices: int32 or int64 (other signed and the
small unsigned integer types are widened to int32), every index in [0, V): checked
before the call where indices are concrete (ValueError); under jit the CPU kernel
refuses an out-of-range index at run time (a JaxRuntimeError naming its position) and
the CUDA kernel writes a zero row (jnp.take would fill NaN or clip instead).
padding_idx: that row (negative: counted from the end, as torch) gets no gradient.
scale_grad_by_freq: each row's gradient is divided by how often its index occurs
(per example under vmap).

Gradient for weight only: indices are integers (the custom_vjp gives them none).
torch's max_norm / norm_type are left out: torch renormalises the looked-up rows of the
weight IN PLACE (kn_embedding_renorm), which has no functional JAX equivalent; renormalise
the weight explicitly before the call if needed. sparse gradients do not exist in JAX.
vmap: mapped indices with an unmapped weight fold into one lookup (indices are flattened
to (n,), the mapped axis folds into n); a mapped weight runs one call per index, as does
the backward (each example's dweight is its own (V, D) scatter-sum).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, check_ndim, fold_batch, shape_dtype

__all__ = ["embedding"]


@functools.lru_cache(maxsize=None)
def _embedding(padding_idx: int, scale_grad_by_freq: bool, v: int):
    """The custom_vjp function (weight:(V,D), indices:(n,)) -> y:(n, D)."""
    def forward(indices, weight):
        # indices:(n,) weight:(V,D) -> y:(n,D); n from indices (folded under vmap)
        return call("embedding_forward", shape_dtype((indices.shape[0], weight.shape[1]), weight.dtype),
                    weight, indices)

    forward_v = fold_batch(forward, fold_in=(True, False), fold_out=(True,))

    @jax.custom_vjp
    def f(weight, indices):
        return forward_v(indices, weight)

    def f_fwd(weight, indices):
        return forward_v(indices, weight), indices

    def f_bwd(indices, dy):
        # dy:(n,D) -> dweight:(V,D), written whole by the kernel; indices: no gradient
        dweight = call("embedding_backward", shape_dtype((v, dy.shape[1]), dy.dtype), dy, indices,
                       padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
        return dweight, None

    f.defvjp(f_fwd, f_bwd)
    return f


def embedding(indices, weight, padding_idx=None, scale_grad_by_freq=False):
    """Rows of weight:(V, D) at integer indices:(*) -> (*, D); see the module docstring."""
    op = "embedding"
    check_float(op, weight=weight)
    check_ndim(op, "weight", weight, 2)
    idt = np.dtype(indices.dtype) if hasattr(indices, "dtype") else np.dtype(jnp.result_type(indices))
    if idt not in (np.dtype(np.int32), np.dtype(np.int64)):
        if idt.kind == "i" or (idt.kind == "u" and idt.itemsize < 4):
            indices = jnp.asarray(indices).astype(jnp.int32)
        else:
            raise TypeError(f"pykernels.jax.{op}: indices have dtype {idt}; expected an integer type "
                            "(int32 or int64)")
    indices = jnp.asarray(indices)
    if indices.ndim > 7:
        raise ValueError(f"pykernels.jax.{op}: indices have {indices.ndim} dims; at most 7")
    v, d = weight.shape
    if padding_idx is None:
        pidx = -1
    else:
        if isinstance(padding_idx, (bool, np.bool_)) or not isinstance(padding_idx, (int, np.integer)) \
                or not -v <= padding_idx < v:
            raise ValueError(f"pykernels.jax.{op}: padding_idx must be an int in [-{v}, {v}) (weight has "
                             f"{v} rows) or None, got {padding_idx!r}")
        pidx = int(padding_idx) % v
    if not isinstance(scale_grad_by_freq, (bool, np.bool_)):
        raise TypeError(f"pykernels.jax.{op}: scale_grad_by_freq must be a bool, got {scale_grad_by_freq!r}")
    if not isinstance(indices, jax.core.Tracer) and indices.size:
        concrete = np.asarray(indices)
        lo, hi = int(concrete.min()), int(concrete.max())
        if lo < 0 or hi >= v:
            raise ValueError(f"pykernels.jax.{op}: indices must lie in [0, {v}) (weight has {v} rows), "
                             f"got values in [{lo}, {hi}]")
    n = int(np.prod(indices.shape, dtype=np.int64))
    y = _embedding(pidx, bool(scale_grad_by_freq), v)(weight, indices.reshape((n,)))
    return y.reshape(indices.shape + (d,))
