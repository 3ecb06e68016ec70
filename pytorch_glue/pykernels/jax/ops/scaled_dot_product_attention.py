"""Fused scaled dot-product attention on jax.Arrays (targets:
jax_ffi/scaled_dot_product_attention.cpp; kernels/scaled_dot_product_attention.h):

    scaled_dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                                 is_causal=False, dropout_rate=0.0, dropout_rng=None) -> out
        out = softmax(scale * query @ key^T + bias, masked) @ value, never materialising
        the (L, S) scores (tiles with an online softmax, as FlashAttention).

LAYOUT (not jax.nn.dot_product_attention's (B, T, N, H)): the library's
    query:(*B, L, E)  key:(*Bk, S, E)  value:(*Bv, S, Ev)  -> out:(*B, L, Ev)
with the heads among the batch dims, e.g. (batch, heads, L, E) as torch. Nothing is
transposed here: a (B, T, N, H) array is ``jnp.swapaxes(x, -2, -3)`` (an XLA copy) on the
caller's side. Every batch dim of key, value, bias and mask is query's or 1 (broadcast:
grouped-query attention is query (B, Hkv, G, L, E) against key (B, Hkv, 1, S, E)); arrays
with fewer dims get leading 1s (a reshape). bias (float, query's dtype) and mask (bool or
uint8, True = take part) have shapes (*Bm, L|1, S|1).

Names follow jax.nn.dot_product_attention (query, key, value, bias, mask, scale (default
1/sqrt(E)), is_causal: key j <= query i, aligned top-left); dropout follows flax's
dot_product_attention (dropout_rate, dropout_rng: a jax.random key, from which a 64-bit
Philox seed is drawn with jax.random.bits; the same mask in the backward).

Gradients: query, key and value (one backward call computes the three; gradients of
broadcast batch dims are summed). The backward recomputes the tiles from the forward's
log-sum-exp, an explicit (*B, L) output of the forward kept as the residual with out.

vmap (no dropout): the mapped axis becomes one more leading batch dim of the kernel's
(*B, ...): one call; an unmapped key/value/bias/mask gets a leading 1 (broadcast by the
kernel, no copy), an unmapped query is broadcast; in the backward every unmapped float
operand is broadcast (each index has its own dkey, dvalue). With dropout, or with
KN_MAX_DIMS (8) dims already, one call per index (the dropout mask is a function of the
batch index: a fold would draw other masks than the loop).

Departures from jax.nn.dot_product_attention: the layout above; no query_seq_lengths,
key_value_seq_lengths, local_window_size or implementation; a fully masked row gives 0
(torch's convention) where jax's gives the mean of value; bias gets no gradient (treated
as a constant: the kernel computes none for attn_mask); with both bias and mask they are
combined into one float array jnp.where(mask, bias, -inf) (of their broadcast shape).
Dropout reads its seed on the host: CPU only (a CUDA call with dropout fails with an
error naming it).
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, like, shape_dtype, vmap_rule

__all__ = ["scaled_dot_product_attention"]

_MAX_DIMS = 8  # KN_MAX_DIMS


def _new_batch_dim(fn, expand):
    """``fn(*operands)`` with a vmap rule that makes the mapped axis a new leading batch
    dim of every operand: unmapped ones get a leading 1 (the kernel broadcasts it), or,
    where ``expand``, are broadcast to the axis size. One call; per index (jax.lax.map)
    when that would exceed KN_MAX_DIMS."""
    def batched(axis_size, mapped, *operands):
        if not all(a is None or a.ndim + (0 if m else 1) <= _MAX_DIMS for a, m in zip(operands, mapped)):
            return None
        return fn(*[a if a is None or m else
                    (jnp.broadcast_to(a[None], (axis_size,) + a.shape) if e else a[None])
                    for a, m, e in zip(operands, mapped, expand)])

    return vmap_rule(fn, batched)


def _forward(q, k, v, attn, seed, scale, dropout, causal):
    # -> out:(*B,L,Ev), lse:(*B,L)
    def run(q, k, v, attn, seed=None):
        return tuple(call("scaled_dot_product_attention_forward",
                          [shape_dtype(q.shape[:-1] + v.shape[-1:], q.dtype), shape_dtype(q.shape[:-1], q.dtype)],
                          q, k, v, attn, seed, scale=scale, dropout_p=dropout, is_causal=causal))
    if seed is not None:  # dropout: one call per mapped index (ffi_call's "sequential")
        return run(q, k, v, attn, seed)
    return _new_batch_dim(run, (True, False, False, False))(q, k, v, attn)


def _backward(dout, q, k, v, attn, out, lse, seed, scale, dropout, causal):
    # -> dq, dk, dv of q's, k's, v's shapes
    def run(dout, q, k, v, attn, out, lse, seed=None):
        return tuple(call("scaled_dot_product_attention_backward", [like(q), like(k), like(v)],
                          dout, q, k, v, attn, out, lse, seed, scale=scale, dropout_p=dropout,
                          is_causal=causal))
    if seed is not None:
        return run(dout, q, k, v, attn, out, lse, seed)
    return _new_batch_dim(run, (True, True, True, True, False, True, True))(dout, q, k, v, attn, out, lse)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7))
def _sdpa(q, k, v, attn, seed, scale, dropout, causal):
    return _forward(q, k, v, attn, seed, scale, dropout, causal)[0]


def _sdpa_fwd(q, k, v, attn, seed, scale, dropout, causal):
    out, lse = _forward(q, k, v, attn, seed, scale, dropout, causal)
    return out, (q, k, v, attn, seed, out, lse)


def _sdpa_bwd(scale, dropout, causal, res, dout):
    q, k, v, attn, seed, out, lse = res
    dq, dk, dv = _backward(dout, q, k, v, attn, out, lse, seed, scale, dropout, causal)
    return dq, dk, dv, None, None  # no gradient for bias/mask, nor for the seed


_sdpa.defvjp(_sdpa_fwd, _sdpa_bwd)


def _lead(a, ndim):
    """a with leading 1s up to ndim dims (a reshape)."""
    return a.reshape((1,) * (ndim - a.ndim) + tuple(a.shape))


def scaled_dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None, is_causal=False,
                                 dropout_rate=0.0, dropout_rng=None):
    """softmax(scale * query @ key^T + bias, masked) @ value in the (*B, L, E) layout; see
    the module docstring."""
    op = "scaled_dot_product_attention"
    check_float(op, query=query, key=key, value=value, bias=bias)
    for name, a in (("query", query), ("key", key), ("value", value)):
        if a.ndim < 2:
            raise ValueError(f"pykernels.jax.{op}: {name} must be (*B, length, features), "
                             f"got shape {tuple(a.shape)}")
    nd = query.ndim
    if nd > _MAX_DIMS:
        raise ValueError(f"pykernels.jax.{op}: at most {_MAX_DIMS} dims, query has {nd}")
    for name, a in (("key", key), ("value", value), ("bias", bias), ("mask", mask)):
        if a is not None and a.ndim > nd:
            raise ValueError(f"pykernels.jax.{op}: {name} has more dims ({a.ndim}) than query ({nd})")
    if mask is not None and np.dtype(mask.dtype) not in (np.dtype(np.bool_), np.dtype(np.uint8)):
        raise TypeError(f"pykernels.jax.{op}: mask must be bool or uint8 (True = take part), got "
                        f"{mask.dtype}; an additive float mask is `bias`")
    k, v = _lead(key, nd), _lead(value, nd)
    if k.shape[-1] != query.shape[-1]:
        raise ValueError(f"pykernels.jax.{op}: query {tuple(query.shape)} and key {tuple(key.shape)} "
                         "must share the last (feature) dim")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"pykernels.jax.{op}: key {tuple(key.shape)} and value {tuple(value.shape)} "
                         "must share the sequence dim (-2)")
    length, source = query.shape[-2], k.shape[-2]
    attn = None
    if bias is not None and mask is not None:  # one float mask: -inf where mask is False
        bias, mask = jnp.broadcast_arrays(_lead(bias, nd), _lead(mask, nd))
        attn = jnp.where(mask.astype(bool), bias, jnp.array(-jnp.inf, bias.dtype))
    elif bias is not None or mask is not None:
        attn = _lead(bias if bias is not None else mask, nd)
    for name, a in (("key", k), ("value", v), ("bias/mask", attn)):
        if a is None:
            continue
        for d in range(nd - 2):
            if a.shape[d] not in (1, query.shape[d]):
                raise ValueError(f"pykernels.jax.{op}: {name} has shape {tuple(a.shape)}: each batch dim "
                                 f"must be query's ({tuple(query.shape)}) or 1")
    if attn is not None and (attn.shape[-2] not in (1, length) or attn.shape[-1] not in (1, source)):
        raise ValueError(f"pykernels.jax.{op}: bias/mask has shape {tuple(attn.shape)}; its last two "
                         f"dims must be ({length} or 1, {source} or 1)")
    if scale is None:
        e = query.shape[-1]
        scale = 1.0 / math.sqrt(e) if e > 0 else 1.0
    rate = float(dropout_rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"pykernels.jax.{op}: dropout_rate must be in [0, 1], got {dropout_rate}")
    seed = None
    if rate > 0.0:
        if dropout_rng is None:
            raise ValueError(f"pykernels.jax.{op}: dropout_rate > 0 needs dropout_rng (a jax.random key)")
        seed = jax.random.bits(dropout_rng, (2,), jnp.uint32)  # the kernel's 64-bit Philox seed
    return _sdpa(query, k, v, attn, seed, float(scale), rate, bool(is_causal))
