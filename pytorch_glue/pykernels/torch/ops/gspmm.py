"""Graph sparse-dense products: ``pykernels::csr_transpose``, ``pykernels::gspmm`` and
``pykernels::gspmm_backward``.

A graph is in CSR form with rows = destination nodes: ``indptr:(num_dst+1)``,
``indices:(E)`` the source of each edge (int32 or int64, one dtype). Maths, with
msg(k) = x[indices[k]] ('copy_u') or x[indices[k]] * edge_values[k] ('u_mul_e'):

    y[v, f] = REDUCE_{k in row v} msg(k, f)        REDUCE: sum | mean | max | min
    dx[u]   = sum over edges k = (u -> v) of dy[v] * d y[v] / d msg(k) * d msg(k) / d x[u]
    de[k]   = sum_f dy[v, f] * x[u, f] * (1 / len(v) for mean; [arg[v, f] == k] for max/min)

    csr_transpose(indptr, indices, num_src) -> (t_indptr:(num_src+1), t_indices:(E),
        t_edge_ids:(E))                          the CSC form, for dx
    gspmm(indptr, indices, x:(num_src,F), edge_values:(E) or None, t_indptr?, t_indices?,
          t_edge_ids?, message, reduce, skip_index_check) -> (y:(num_dst,F), arg)
        arg:(num_dst,F) (indptr's dtype) = the winning edge of each y[v, f] for max/min
        (-1 in an empty row), a 0-element tensor for sum/mean; not differentiable.
    gspmm_backward(grad_output, indptr, indices, t_indptr?, t_indices?, t_edge_ids?,
                   edge_values?, x?, arg?, message, reduce, need_x, need_edge_values,
                   skip_index_check) -> (grad_x:(num_src,F), grad_edge_values:(E)),
        a 0-element tensor where not needed.

The transpose tensors are INPUTS of ``gspmm``: they are not used by the forward
kernel but saved for the backward, so a caller that keeps them (pykernels.torch.Graph
does) pays for the transpose once per graph, never per backward. When x needs a
gradient and they were not given, the backward builds them with ``csr_transpose``.
Gradients flow to x and edge_values; the graph tensors get None. Tensors are saved
only for the gradients that are needed: nothing under no_grad.

``skip_index_check=True`` skips the library's O(E) scan of the graph (for a graph that
was checked once, e.g. by Graph); otherwise a bad graph raises pykernels.KernelError.
Option names are checked here (ValueError), dims that fix the output shapes too
(pykernels.ShapeError, a ValueError); the library checks everything else.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ... import (_C, _gspmm_codes, _gspmm_edge_values_rule, _gspmm_features, _gspmm_num_dst,
                 _shape_error)
from .._glue import call, empty, expect_dim, fast_path, mark_non_differentiable

_MAX_MIN = (_C.GSPMM_MAX, _C.GSPMM_MIN)

# ---------------------------------------------------------------- transpose

_T = "pykernels::csr_transpose"


def _csr_transpose_outputs(indptr: Tensor, indices: Tensor, num_src: int):
    expect_dim(indptr, 1, _T, "indptr")
    expect_dim(indices, 1, _T, "indices")
    if num_src < 0:
        raise ValueError(f"{_T}: num_src must be >= 0, got {num_src}")
    e = indices.shape[0]

    def index(n):
        return torch.empty((n,), dtype=indptr.dtype, device=indptr.device)
    return index(num_src + 1), index(e), index(e)


def _csr_transpose(indptr: Tensor, indices: Tensor, num_src: int) -> tuple[Tensor, Tensor, Tensor]:
    """(t_indptr:(num_src+1), t_indices:(E) destinations, t_edge_ids:(E) CSR positions)."""
    t_indptr, t_indices, t_edge_ids = _csr_transpose_outputs(indptr, indices, num_src)
    call(_C.csr_transpose, _T, indptr=indptr, indices=indices, t_indptr=t_indptr,
         t_indices=t_indices, t_edge_ids=t_edge_ids)
    return t_indptr, t_indices, t_edge_ids


csr_transpose = torch.library.custom_op(_T, mutates_args=(),
                         schema="(Tensor indptr, Tensor indices, int num_src) -> "
                                "(Tensor, Tensor, Tensor)")(_csr_transpose)
csr_transpose.register_fake(_csr_transpose_outputs)
csr_transpose_fast = fast_path(csr_transpose, _csr_transpose)

# ------------------------------------------------------------------ forward

_FW = "pykernels::gspmm"
_FW_SCHEMA = ("(Tensor indptr, Tensor indices, Tensor x, Tensor? edge_values, Tensor? t_indptr, "
              "Tensor? t_indices, Tensor? t_edge_ids, str message, str reduce, "
              "bool skip_index_check) -> (Tensor, Tensor)")


def _gspmm_outputs(indptr: Tensor, indices: Tensor, x: Tensor, edge_values: Optional[Tensor],
                   t_indptr, t_indices, t_edge_ids, message: str, reduce: str,
                   skip_index_check: bool):
    _, r = _gspmm_codes(message, reduce, _FW)
    _gspmm_edge_values_rule(message, edge_values, _FW)
    for name, t in (("indptr", indptr), ("indices", indices), ("x", x)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_FW}: {name}: expected a torch.Tensor, got {type(t).__name__}")
    shape = (_gspmm_num_dst(indptr.shape, _FW), _gspmm_features(x.shape, _FW))
    y = empty(shape, like=x)
    arg = torch.empty(shape if r in _MAX_MIN else (0,), dtype=indptr.dtype, device=indptr.device)
    return y, arg


def _gspmm(indptr: Tensor, indices: Tensor, x: Tensor, edge_values: Optional[Tensor],
          t_indptr: Optional[Tensor], t_indices: Optional[Tensor], t_edge_ids: Optional[Tensor],
          message: str, reduce: str, skip_index_check: bool) -> tuple[Tensor, Tensor]:
    """(y:(num_dst,F), arg:(num_dst,F) for max/min else 0-element); t_* are only saved."""
    y, arg = _gspmm_outputs(indptr, indices, x, edge_values, t_indptr, t_indices, t_edge_ids,
                            message, reduce, skip_index_check)
    m, r = _gspmm_codes(message, reduce, _FW)
    call(_C.gspmm_forward, _FW, m, r, int(bool(skip_index_check)), indptr=indptr,
         indices=indices, edge_values=edge_values, x=x, y=y,
         arg=arg if r in _MAX_MIN else None)
    return y, arg


gspmm = torch.library.custom_op(_FW, mutates_args=(), schema=_FW_SCHEMA)(_gspmm)
gspmm.register_fake(_gspmm_outputs)

# ----------------------------------------------------------------- backward

_BW = "pykernels::gspmm_backward"
_BW_SCHEMA = ("(Tensor grad_output, Tensor indptr, Tensor indices, Tensor? t_indptr, "
              "Tensor? t_indices, Tensor? t_edge_ids, Tensor? edge_values, Tensor? x, "
              "Tensor? arg, str message, str reduce, bool need_x, bool need_edge_values, "
              "bool skip_index_check) -> (Tensor, Tensor)")


def _gspmm_backward_outputs(grad_output: Tensor, indptr: Tensor, indices: Tensor,
                            t_indptr: Optional[Tensor], t_indices: Optional[Tensor],
                            t_edge_ids: Optional[Tensor], edge_values: Optional[Tensor],
                            x: Optional[Tensor], arg: Optional[Tensor], message: str, reduce: str,
                            need_x: bool, need_edge_values: bool, skip_index_check: bool):
    _, r = _gspmm_codes(message, reduce, _BW)
    f = _gspmm_features(grad_output.shape, _BW, "grad_output")
    _gspmm_num_dst(indptr.shape, _BW)
    expect_dim(indices, 1, _BW, "indices")
    if need_x:
        if t_indptr is None or t_indices is None or t_edge_ids is None:
            raise ValueError(f"{_BW}: t_indptr, t_indices, t_edge_ids: required when need_x")
        if message == "u_mul_e" and edge_values is None:
            raise ValueError(f"{_BW}: edge_values: required for message='u_mul_e' when need_x")
        expect_dim(t_indptr, 1, _BW, "t_indptr")
        if t_indptr.shape[0] < 1:
            raise _shape_error(f"{_BW}: t_indptr: expected shape (num_src + 1,), got (0,)")
    if need_edge_values:
        if message != "u_mul_e":
            raise ValueError(f"{_BW}: need_edge_values: edge values have a gradient only for "
                             "message='u_mul_e'")
        if x is None:
            raise ValueError(f"{_BW}: x: required when need_edge_values")
    if r in _MAX_MIN and (need_x or need_edge_values) and arg is None:
        raise ValueError(f"{_BW}: arg: required for reduce={reduce!r}")
    dx = empty((t_indptr.shape[0] - 1, f) if need_x else (0,), like=grad_output)
    de = empty((indices.shape[0],) if need_edge_values else (0,), like=grad_output)
    return dx, de


def _gspmm_backward(grad_output: Tensor, indptr: Tensor, indices: Tensor,
                   t_indptr: Optional[Tensor], t_indices: Optional[Tensor],
                   t_edge_ids: Optional[Tensor], edge_values: Optional[Tensor],
                   x: Optional[Tensor], arg: Optional[Tensor], message: str, reduce: str,
                   need_x: bool, need_edge_values: bool,
                   skip_index_check: bool) -> tuple[Tensor, Tensor]:
    """(grad_x:(num_src,F), grad_edge_values:(E)); a 0-element tensor where not needed."""
    dx, de = _gspmm_backward_outputs(grad_output, indptr, indices, t_indptr, t_indices,
                                     t_edge_ids, edge_values, x, arg, message, reduce, need_x,
                                     need_edge_values, skip_index_check)
    if not (need_x or need_edge_values):
        return dx, de
    m, r = _gspmm_codes(message, reduce, _BW)
    t = (t_indptr, t_indices, t_edge_ids) if need_x else (None, None, None)
    call(_C.gspmm_backward, _BW, m, r, int(bool(skip_index_check)), dy=grad_output,
         indptr=indptr, indices=indices, t_indptr=t[0], t_indices=t[1], t_edge_ids=t[2],
         edge_values=edge_values if message == "u_mul_e" else None,
         x=x if need_edge_values else None, arg=arg if r in _MAX_MIN else None,
         dx=dx if need_x else None, dedge=de if need_edge_values else None)
    return dx, de


gspmm_backward = torch.library.custom_op(_BW, mutates_args=(),
                                         schema=_BW_SCHEMA)(_gspmm_backward)
gspmm_backward.register_fake(_gspmm_backward_outputs)
gspmm_backward_fast = fast_path(gspmm_backward, _gspmm_backward)

# ----------------------------------------------------------------- autograd

# gspmm's arguments after (indptr, indices, x), with their defaults: GSpMMFunction.apply
# may leave the trailing ones out, and setup_context then sees fewer inputs.
_DEFAULTS = (None, None, None, None, "copy_u", "sum", False)


def _inputs(inputs):
    return tuple(inputs) + _DEFAULTS[len(inputs) - 3:]


def setup_context(ctx, inputs, output) -> None:
    """Save, only for the gradients that are needed: the graph (and its transpose for
    grad_x), edge_values (u_mul_e, for grad_x), x (for grad_edge_values), arg (max/min)."""
    (indptr, indices, x, edge_values, t_indptr, t_indices, t_edge_ids, message, reduce,
     skip) = _inputs(inputs)
    _, arg = output
    mark_non_differentiable(ctx, arg)
    need_x = ctx.needs_input_grad[2]
    need_e = len(ctx.needs_input_grad) > 3 and ctx.needs_input_grad[3]
    ctx.options = (message, reduce, bool(skip), need_x, need_e, x.shape[0])
    if not (need_x or need_e):
        ctx.save_for_backward()
        return
    r = _gspmm_codes(message, reduce, _FW)[1]
    have_t = t_indptr is not None and t_indices is not None and t_edge_ids is not None
    ctx.save_for_backward(
        indptr, indices,
        t_indptr if need_x and have_t else None,
        t_indices if need_x and have_t else None,
        t_edge_ids if need_x and have_t else None,
        edge_values if need_x and message == "u_mul_e" else None,
        x if need_e else None,
        arg if r in _MAX_MIN else None)


def backward(ctx, grad_output: Tensor, grad_arg: Optional[Tensor] = None):
    message, reduce, skip, need_x, need_e, num_src = ctx.options
    dx = de = None
    if (need_x or need_e) and grad_output is not None:  # None: see mark_non_differentiable
        indptr, indices, t_indptr, t_indices, t_edge_ids, edge_values, x, arg = ctx.saved_tensors
        if need_x and t_indptr is None:  # the caller did not pass the transpose
            t_indptr, t_indices, t_edge_ids = csr_transpose_fast(indptr, indices, num_src)
        gx, ge = gspmm_backward_fast(grad_output, indptr, indices, t_indptr, t_indices,
                                     t_edge_ids, edge_values, x, arg, message, reduce, need_x,
                                     need_e, skip)
        dx = gx if need_x else None
        de = ge if need_e else None
    return None, None, dx, de, None, None, None, None, None, None


gspmm.register_autograd(backward, setup_context=setup_context)
# Eager callers (functional.gspmm/spmm) skip the dispatcher when nothing needs it: _glue.fast_path.
gspmm_fast = fast_path(gspmm, _gspmm, setup_context, backward)
