"""Scaled dot-product attention: ``pykernels::scaled_dot_product_attention`` and
``pykernels::scaled_dot_product_attention_backward`` (and the public API:
functional.scaled_dot_product_attention and autograd.ScaledDotProductAttentionFunction,
exported by pykernels.torch through _registry).

The custom ops take the C contract as it is (kernels/scaled_dot_product_attention.h):

    scaled_dot_product_attention(q:(*B, L, E), k:(*Bk, S, E), v:(*Bv, S, Ev),
                                 attn_mask:(*Bm, L', S')?, dropout_p, is_causal, scale, seed?)
        -> (out:(*B, L, Ev), lse:(*B, L))
    scaled_dot_product_attention_backward(grad_output, q, k, v, attn_mask?, out, lse,
                                          dropout_p, is_causal, scale, seed?,
                                          need_q, need_k, need_v)
        -> (grad_q, grad_k, grad_v)   (a 0-element tensor where not needed)

with the same number of dims everywhere and each batch dim of k, v, attn_mask equal to
q's or 1 (the kernel broadcasts them, and sums the gradients of broadcast dims itself).
``seed`` is a 0-d int64 tensor (``ops.dropout.draw_seed()``, so torch.compile traces it)
or None when dropout_p = 0. lse is an output marked non-differentiable.

``functional.scaled_dot_product_attention`` has torch's signature and semantics and maps
torch's shapes onto that contract with views only (no copy of q, k, v):

* batch dims: torch broadcasts q @ k^T @ v like matmul. The batch shape B is the broadcast
  of q's, k's and v's batch dims; q is ``expand``-ed to it (stride 0, no copy; its
  gradient is summed by autograd's expand backward), k and v get leading size-1 dims
  only (their size-1 dims stay size 1: the kernel broadcasts them).
* attn_mask: leading size-1 dims up to q's ndim (a mask with more dims than the
  result is refused, as torch refuses it); bool masks as they are, a float mask of another
  float dtype is converted to q's (torch promotes), other dtypes raise torch's RuntimeError.
  A float mask that requires grad raises NotImplementedError (the C ABI gives no mask
  gradient) when grad mode is on.
* enable_gqa: q:(..., Hq, L, E) is viewed as (..., Hkv, G, L, E) and k, v:(..., Hkv, S, E)
  as (..., Hkv, 1, S, E); the output is flattened back. k and v may have different head
  counts Hk, Hv (torch allows it): where one divides the other, q is viewed as
  (..., lo, hi/lo, Hq/hi, L, E) (lo, hi = min, max of Hk, Hv) and k, v as (..., lo, 1, 1,
  ...) or (..., lo, hi/lo, 1, ...); otherwise both are repeat_interleave-d to Hq as torch
  does (a copy).
* is_causal with attn_mask raises torch's RuntimeError; the causal mask is aligned
  top-left (torch's), also for L != S.
* scale None = 1/sqrt(E) (1 where E = 0: every score is 0 then, as torch's).
* dropout_p outside [0, 1] raises RuntimeError (torch's math backend lets p < 0 through).
* dropout_p > 0 draws a seed like pykernels' dropout; the keep bit of weight (b, i, j)
  is pykernels dropout's bit of element (b * L + i) * S + j of the (*B, L, S) weights
  (B: the output's batch dims, row-major).

Saved for backward: q, k, v, out, lse, attn_mask and the seed, only when one of q, k, v
needs a gradient (nothing under no_grad / inference_mode); the backward computes only the
gradients asked for (None = NULL to the kernel). The backward op has no autograd formula
itself: a double backward (create_graph=True, then backward) raises torch's RuntimeError
"no autograd formula was registered", as for the other ops.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty, fast_path, mark_non_differentiable, none_output
from .dropout import draw_seed

_OP = "pykernels::scaled_dot_product_attention"
_BW = "pykernels::scaled_dot_product_attention_backward"
_FN = "pykernels.torch.functional.scaled_dot_product_attention"


def _check_p(dropout_p: float, op: str) -> float:
    p = float(dropout_p)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return p


def _seed_int(seed: Optional[Tensor]) -> int:
    return int(seed.item()) if seed is not None else 0


# ------------------------------------------------------------------ forward


def _sdpa_outputs(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor], dropout_p: float,
                  is_causal: bool, scale: float, seed: Optional[Tensor]):
    _check_p(dropout_p, _OP)
    if q.dim() < 2 or v.dim() < 1:
        raise RuntimeError(f"{_OP}: q: expected at least 2 dims (*B, L, E), got shape "
                           f"{tuple(q.shape)}")
    lead = tuple(q.shape[:-1])
    return empty(lead + (v.shape[-1],), like=q), empty(lead, like=q)


def _sdpa(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor], dropout_p: float,
          is_causal: bool, scale: float, seed: Optional[Tensor]) -> tuple[Tensor, Tensor]:
    """(out, lse) of attention on the C contract's shapes (see the module docstring)."""
    out, lse = _sdpa_outputs(q, k, v, attn_mask, dropout_p, is_causal, scale, seed)
    call(_C.scaled_dot_product_attention_forward, _OP, float(scale), float(dropout_p),
         _seed_int(seed) if dropout_p > 0 else 0, bool(is_causal), q=q, k=k, v=v,
         attn_mask=attn_mask, out=out, lse=lse)
    return out, lse


scaled_dot_product_attention = torch.library.custom_op(_OP, mutates_args=())(_sdpa)
scaled_dot_product_attention.register_fake(_sdpa_outputs)

# ----------------------------------------------------------------- backward


def _sdpa_backward_outputs(grad_output: Tensor, q: Tensor, k: Tensor, v: Tensor,
                           attn_mask: Optional[Tensor], out: Tensor, lse: Tensor,
                           dropout_p: float, is_causal: bool, scale: float,
                           seed: Optional[Tensor], need_q: bool, need_k: bool, need_v: bool):
    _check_p(dropout_p, _BW)
    dq = empty(tuple(q.shape), like=grad_output) if need_q else none_output(grad_output)
    dk = empty(tuple(k.shape), like=grad_output) if need_k else none_output(grad_output)
    dv = empty(tuple(v.shape), like=grad_output) if need_v else none_output(grad_output)
    return dq, dk, dv


def _sdpa_backward(grad_output: Tensor, q: Tensor, k: Tensor, v: Tensor,
                   attn_mask: Optional[Tensor], out: Tensor, lse: Tensor, dropout_p: float,
                   is_causal: bool, scale: float, seed: Optional[Tensor], need_q: bool,
                   need_k: bool, need_v: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(grad_q, grad_k, grad_v); a 0-element tensor where not needed."""
    dq, dk, dv = _sdpa_backward_outputs(grad_output, q, k, v, attn_mask, out, lse, dropout_p,
                                        is_causal, scale, seed, need_q, need_k, need_v)
    call(_C.scaled_dot_product_attention_backward, _BW, float(scale), float(dropout_p),
         _seed_int(seed) if dropout_p > 0 else 0, bool(is_causal), dout=grad_output, q=q, k=k,
         v=v, attn_mask=attn_mask, out=out, lse=lse, dq=dq if need_q else None,
         dk=dk if need_k else None, dv=dv if need_v else None)
    return dq, dk, dv


scaled_dot_product_attention_backward = torch.library.custom_op(_BW, mutates_args=())(
    _sdpa_backward)
scaled_dot_product_attention_backward.register_fake(_sdpa_backward_outputs)
scaled_dot_product_attention_backward_fast = fast_path(scaled_dot_product_attention_backward,
                                                       _sdpa_backward)

# ----------------------------------------------------------------- autograd


def setup_context(ctx, inputs, output) -> None:
    """Saves q, k, v, out, lse, attn_mask and the seed, only when q, k or v needs a
    gradient."""
    q, k, v, attn_mask, dropout_p, is_causal, scale, seed = inputs
    out, lse = output
    mark_non_differentiable(ctx, lse)
    need = ctx.needs_input_grad
    if len(need) > 3 and need[3]:
        raise NotImplementedError(
            f"{_OP}: attn_mask requires grad, but libkernels' attention computes no gradient for "
            "the mask: detach it (attn_mask.detach()) or use torch's own attention")
    ctx.params = (float(dropout_p), bool(is_causal), float(scale))
    if any(need[:3]):
        ctx.save_for_backward(q, k, v, attn_mask, out, lse, seed)


def backward(ctx, grad_output: Tensor, grad_lse):
    need_q, need_k, need_v = ctx.needs_input_grad[:3]
    if not (need_q or need_k or need_v) or grad_output is None:  # None: mark_non_differentiable
        return None, None, None, None, None, None, None, None
    q, k, v, attn_mask, out, lse, seed = ctx.saved_tensors
    dropout_p, is_causal, scale = ctx.params
    dq, dk, dv = scaled_dot_product_attention_backward_fast(
        grad_output, q, k, v, attn_mask, out, lse, dropout_p, is_causal, scale, seed,
        need_q, need_k, need_v)
    return (dq if need_q else None, dk if need_k else None, dv if need_v else None,
            None, None, None, None, None)


scaled_dot_product_attention.register_autograd(backward, setup_context=setup_context)
scaled_dot_product_attention_fast = fast_path(scaled_dot_product_attention, _sdpa, setup_context,
                                              backward)

# ------------------------------------------------------------- public API


def _lead(t: Tensor, ndim: int) -> Tensor:
    """t with leading size-1 dims up to ndim dims (a view)."""
    n = ndim - t.dim()
    return t[(None,) * n] if n > 0 else t


def _prepare_mask(attn_mask: Tensor, query: Tensor) -> Tensor:
    if attn_mask.dtype == torch.bool:
        return attn_mask
    if attn_mask.is_floating_point():
        if attn_mask.requires_grad and torch.is_grad_enabled():
            raise NotImplementedError(
                f"{_FN}: a float attn_mask that requires grad is not supported: libkernels' "
                "attention computes no gradient for the mask (detach it, or use torch's "
                "attention)")
        return attn_mask if attn_mask.dtype == query.dtype else attn_mask.to(query.dtype)
    raise RuntimeError(
        f"{_FN}: Expected attn_mask dtype to be bool or float or to match query dtype, but got "
        f"attn_mask.dtype: {attn_mask.dtype} and query.dtype: {query.dtype} instead.")


def functional_scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                            attn_mask: Optional[Tensor] = None,
                                            dropout_p: float = 0.0, is_causal: bool = False,
                                            scale: Optional[float] = None,
                                            enable_gqa: bool = False) -> Tensor:
    """Like torch.nn.functional.scaled_dot_product_attention:
    softmax(query @ key^T * scale + mask) (dropped out with dropout_p) @ value, with torch's
    broadcasting of batch dims and masks, bool/float masks, is_causal (top-left),
    scale (default 1/sqrt(E)) and enable_gqa; fused (no L x S matrix is stored)."""
    q, k, v = query, key, value
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_FN}: {name}: expected a torch.Tensor, got {type(t).__name__}")
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise RuntimeError(
            f"{_FN}: Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {q.dim()} key.dim: {k.dim()} and value.dim: {v.dim()} instead.")
    if not (q.dtype == k.dtype == v.dtype):
        raise RuntimeError(
            f"{_FN}: Expected query, key, and value to have the same dtype, but got "
            f"query.dtype: {q.dtype} key.dtype: {k.dtype} and value.dtype: {v.dtype} instead.")
    if attn_mask is not None and is_causal:
        raise RuntimeError(f"{_FN}: _scaled_dot_product_attention: Explicit attn_mask should "
                           "not be set when is_causal=True")
    p = _check_p(dropout_p, _FN)
    E = q.shape[-1]
    scale = float(scale) if scale is not None else (1.0 / math.sqrt(E) if E > 0 else 1.0)
    mask = _prepare_mask(attn_mask, q) if attn_mask is not None else None

    gqa = 0  # the number of dims q's head dim was split into
    if enable_gqa:
        hq, hk, hv = q.size(-3), k.size(-3), v.size(-3)  # IndexError for 2-d, as torch
        if not (hq == hk == hv):
            if hk == 0 or hv == 0 or hq % hk or hq % hv:
                raise RuntimeError(f"{_FN}: Number of heads in key and value must divide the "
                                   f"number of heads in query (query {hq}, key {hk}, value "
                                   f"{hv})")
            lo, hi = min(hk, hv), max(hk, hv)
            if hi % lo == 0:
                # q head h = (a * hi/lo + b) * hq/hi + c reads k head a (or a * hi/lo + b
                # where k has the hi heads) and v head likewise: one split of q's heads,
                # size-1 dims in k and v (their broadcast), no copy.
                if hk == hv:
                    split = (hk, hq // hk)
                    k, v = k.unsqueeze(-3), v.unsqueeze(-3)
                else:
                    split = (lo, hi // lo, hq // hi)
                    k, v = (t.unflatten(-3, (lo, h // lo)).unsqueeze(-3)
                            for t, h in ((k, hk), (v, hv)))
                q = q.unflatten(-3, split)
                gqa = len(split)
                if mask is not None and mask.dim() >= 3:
                    mask = mask.unflatten(-3, split if mask.size(-3) != 1 else (1,) * gqa)
            else:  # torch's own way (a copy of k and v)
                k = k.repeat_interleave(hq // hk, -3)
                v = v.repeat_interleave(hq // hv, -3)

    batch = tuple(torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
    n = len(batch) + 2
    if mask is not None:
        if mask.dim() > n:
            raise RuntimeError(f"{_FN}: attn_mask: shape {tuple(attn_mask.shape)} has more dims "
                               f"than the attention weights {batch + (q.shape[-2], k.shape[-2])}")
        mask = _lead(mask, n)
    if tuple(q.shape[:-2]) != batch:
        q = _lead(q, n).expand(*batch, *q.shape[-2:])
    k, v = _lead(k, n), _lead(v, n)
    out = scaled_dot_product_attention_fast(q, k, v, mask, p, bool(is_causal), scale,
                                            draw_seed() if p > 0 else None)[0]
    return out.flatten(-2 - gqa, -3) if gqa else out


functional_scaled_dot_product_attention.__name__ = "scaled_dot_product_attention"
functional_scaled_dot_product_attention.__qualname__ = "scaled_dot_product_attention"


class ScaledDotProductAttentionFunction(torch.autograd.Function):
    """(out, lse) of attention on the C contract's shapes (see
    pykernels.torch.ops.scaled_dot_product_attention); lse is not differentiable."""

    @staticmethod
    def forward(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor] = None,
                dropout_p: float = 0.0, is_causal: bool = False, scale: float = 1.0,
                seed: Optional[Tensor] = None):
        return scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, seed)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add("scaled_dot_product_attention", functional=functional_scaled_dot_product_attention,
              function=ScaledDotProductAttentionFunction)
