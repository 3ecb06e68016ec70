"""scaled_dot_product_attention on NumPy arrays: ``pykernels.scaled_dot_product_attention``
and ``pykernels.scaled_dot_product_attention_backward`` (exported by ``import pykernels``;
the kernels: kernels/scaled_dot_product_attention.h).

These take the C contract as it is (no torch-style broadcasting of the number of dims):

    q:(*B, L, E)  k:(*Bk, S, E)  v:(*Bv, S, Ev)  attn_mask:(*Bm, L', S') or None
    (the same number of dims everywhere; each batch dim of k, v, attn_mask is q's or 1,
    L' in (L, 1), S' in (S, 1); attn_mask bool/uint8 (true = take part) or q's dtype
    (added to the scores))
    scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, seed)
        -> (out:(*B, L, Ev), lse:(*B, L))
    scaled_dot_product_attention_backward(grad_output, q, k, v, out, lse, attn_mask, ...)
        -> (grad_q, grad_k, grad_v)   (None where need_* is False; broadcast dims summed)

scale None = 1/sqrt(E) (1 for E = 0: the scores are 0 then). lse is the log-sum-exp of each
row's scores (-inf for a fully masked row, whose output is 0); the backward needs it and
the forward's out. Dropout keeps weight (b, i, j) with the Philox bit of element
(b * L + i) * S + j under ``seed``: ``pykernels.dropout`` on the materialised (*B, L, S)
weights draws the same mask. Any strides (q, k, v may be views of one packed array).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _C
from .._arrays import _array, _output

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_backward",
           "scaled_dot_product_attention_lse_shape"]


def _scale(q: np.ndarray, scale) -> float:
    if scale is not None:
        return float(scale)
    e = q.shape[-1] if q.ndim else 0
    return 1.0 / math.sqrt(e) if e > 0 else 1.0


def scaled_dot_product_attention_lse_shape(q: np.ndarray) -> tuple:
    """The shape of the forward's lse for this q:(*B, L, E): (*B, L)."""
    return tuple(_C.scaled_dot_product_attention_lse_shape(
        _array(q, "pykernels.scaled_dot_product_attention_lse_shape", "q")))


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                                 attn_mask: np.ndarray | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 seed: int = 0, *, num_threads: int = 0):
    """(out, lse): softmax(scale * q k^T + mask) (dropped out with dropout_p under seed) @ v,
    and the log-sum-exp of each row's scores."""
    op = "pykernels.scaled_dot_product_attention"
    q, k, v = _array(q, op, "q"), _array(k, op, "k"), _array(v, op, "v")
    if attn_mask is not None:
        _array(attn_mask, op, "attn_mask")
    lse_shape = tuple(_C.scaled_dot_product_attention_lse_shape(q))
    out = _output(None, lse_shape + (v.shape[-1] if v.ndim else 0,), q, op)
    lse = _output(None, lse_shape, q, op, "lse")
    _C.scaled_dot_product_attention_forward(_scale(q, scale), float(dropout_p), int(seed),
                                            bool(is_causal), q, k, v, attn_mask, out, lse,
                                            num_threads=num_threads)
    return out, lse


def scaled_dot_product_attention_backward(grad_output: np.ndarray, q: np.ndarray, k: np.ndarray,
                                          v: np.ndarray, out: np.ndarray, lse: np.ndarray,
                                          attn_mask: np.ndarray | None = None,
                                          dropout_p: float = 0.0, is_causal: bool = False,
                                          scale: float | None = None, seed: int = 0, *,
                                          need_q: bool = True, need_k: bool = True,
                                          need_v: bool = True, num_threads: int = 0):
    """(grad_q, grad_k, grad_v) from the forward's out and lse (same options and seed);
    None where ``need_*`` is False. Deterministic for any ``num_threads``."""
    op = "pykernels.scaled_dot_product_attention_backward"
    grad_output = _array(grad_output, op, "grad_output")
    q, k, v = _array(q, op, "q"), _array(k, op, "k"), _array(v, op, "v")
    dq = _output(None, q.shape, q, op, "grad_q") if need_q else None
    dk = _output(None, k.shape, q, op, "grad_k") if need_k else None
    dv = _output(None, v.shape, q, op, "grad_v") if need_v else None
    _C.scaled_dot_product_attention_backward(_scale(q, scale), float(dropout_p), int(seed),
                                             bool(is_causal), grad_output, q, k, v, attn_mask,
                                             out, lse, dq, dk, dv, num_threads=num_threads)
    return dq, dk, dv
