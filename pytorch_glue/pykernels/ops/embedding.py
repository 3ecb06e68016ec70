"""embedding on NumPy arrays: ``pykernels.embedding``, ``pykernels.embedding_backward`` and
``pykernels.embedding_renorm_`` (exported by ``import pykernels``; the kernels:
kernels/embedding.h).

    weight: (V, D) float32/float64;  indices: any shape (*), int32 or int64, each in [0, V)
    embedding(weight, indices) -> (*, D) = weight[indices]
    embedding_backward(grad_output (*, D), indices, num_weights=V) -> grad_weight (V, D)
    embedding_renorm_(weight, indices, max_norm, norm_type=2.0): in place

Any strides (transposed, sliced, reversed views are read as they are). An index out of
range raises pykernels.KernelError naming its position.
"""
from __future__ import annotations

import numpy as np

from .. import _C
from .._arrays import _array, _output, _shape_error

__all__ = ["embedding", "embedding_backward", "embedding_renorm_"]


def _weight(weight, op: str) -> np.ndarray:
    weight = _array(weight, op, "weight")
    if weight.ndim != 2:
        raise _shape_error(f"{op}: weight: expected 2 dims (num_embeddings, embedding_dim), "
                           f"got shape {weight.shape}")
    return weight


def embedding(weight: np.ndarray, indices: np.ndarray, *, out: np.ndarray | None = None,
              num_threads: int = 0) -> np.ndarray:
    """``weight[indices]``: weight (V, D), indices (*) int32/int64 -> (*, D)."""
    op = "pykernels.embedding"
    weight = _weight(weight, op)
    indices = _array(indices, op, "indices")
    y = _output(out, indices.shape + (weight.shape[1],), weight, op)
    _C.embedding_forward(weight, indices, y, num_threads=num_threads)
    return y


def embedding_backward(grad_output: np.ndarray, indices: np.ndarray, num_weights: int,
                       padding_idx: int | None = None, scale_grad_by_freq: bool = False, *,
                       out: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """grad_weight (num_weights, D): row v = the sum of grad_output[i] over the positions i
    with indices[i] == v (divided by their count when ``scale_grad_by_freq``); 0 for rows
    no index names and for ``padding_idx`` (None = none; negative counts from the end, as
    torch). Deterministic: each row sums in position order, whatever ``num_threads``."""
    op = "pykernels.embedding_backward"
    grad_output = _array(grad_output, op, "grad_output")
    indices = _array(indices, op, "indices")
    if grad_output.ndim == 0:
        raise _shape_error(f"{op}: grad_output: expected shape (*indices.shape, D), got a 0-d array")
    num_weights = int(num_weights)
    pad = _padding_idx(padding_idx, num_weights, op)
    dw = _output(out, (num_weights, grad_output.shape[-1]), grad_output, op)
    _C.embedding_backward(pad, bool(scale_grad_by_freq), grad_output, indices, dw,
                          num_threads=num_threads)
    return dw


def embedding_renorm_(weight: np.ndarray, indices: np.ndarray, max_norm: float,
                      norm_type: float = 2.0, *, num_threads: int = 0) -> np.ndarray:
    """In place, as torch.embedding_renorm_: each row of ``weight`` named by ``indices``
    whose ``norm_type``-norm exceeds ``max_norm`` is scaled by max_norm / (norm + 1e-7).
    Returns ``weight``."""
    op = "pykernels.embedding_renorm_"
    weight = _weight(weight, op)
    indices = _array(indices, op, "indices")
    _C.embedding_renorm(float(max_norm), float(norm_type), weight, indices,
                        num_threads=num_threads)
    return weight


def _padding_idx(padding_idx, num_weights: int, op: str) -> int:
    """torch's normalisation: None -> -1 (none); a negative value counts from the end.
    Raises ValueError outside [-num_weights, num_weights)."""
    if padding_idx is None:
        return -1
    p = int(padding_idx)
    if not -num_weights <= p < num_weights:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings "
                         f"[-{num_weights}, {num_weights}), got {p}")
    return p + num_weights if p < 0 else p
