"""Graph sparse-dense products on jax.Arrays (targets: jax_ffi/gspmm.cpp; kernels/gspmm.h).

A graph is in CSR form with rows = destination nodes: ``indptr:(num_dst+1)``,
``indices:(E)`` the source node of each edge (int32 or int64, one dtype; duplicate
edges count separately). With msg(k) = x[indices[k]] ("copy_u") or
x[indices[k]] * edge_values[k] ("u_mul_e"):

    gspmm(indptr, indices, x, message="copy_u", reduce="sum", edge_values=None, *,
          transpose=None, skip_index_check=False) -> y:(num_dst, F)
        y[v, f] = REDUCE over the edges k of row v of msg(k, f); REDUCE "sum" | "mean" |
        "max" | "min"; a row without edges gives 0. x:(num_src, F) float32/float64,
        edge_values:(E,) of x's dtype (required for "u_mul_e", None for "copy_u").
        Gradients: x and edge_values (max/min: to the first winning edge, through the
        kernel's saved arg); the graph arrays get none.
    csr_transpose(indptr, indices, num_src) -> (t_indptr:(num_src+1,), t_indices:(E,),
        t_edge_ids:(E,))
        the CSC form that the backward of x needs; pass it as gspmm's ``transpose`` to
        build it once per graph (otherwise every backward builds it).

``skip_index_check=True`` skips the CPU kernels' O(E) scan of the graph (a graph checked
once); otherwise a bad graph raises jax.errors.JaxRuntimeError when the call runs
(values are not known before it: jit).

vmap: a mapped x alone (graph, edge_values and transpose unmapped) folds into the
feature dim: x (B, num_src, F) -> (num_src, B*F) (an XLA transpose), one kernel call,
the same for the backward of x when edge_values needs no gradient ("copy_u"); a mapped
graph or edge_values, and the "u_mul_e" backward (dedge sums over the features), run
once per index.

jax has no gSpMM (the tests compare with jax.ops.segment_sum / segment_max / segment_min):
the names and arguments are pykernels' own (its NumPy and torch layers).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, shape_dtype, vmap_rule

__all__ = ["gspmm", "csr_transpose"]

_MESSAGES = {"copy_u": 0, "u_mul_e": 1}               # kn_gspmm_message
_REDUCES = {"sum": 0, "mean": 1, "max": 2, "min": 3}  # kn_gspmm_reduce
_MAX_MIN = (2, 3)
_INDEX = (np.dtype(np.int32), np.dtype(np.int64))


# ------------------------------------------------------------------ batching

def _fold_features(fn, feature_in):
    """``fn(*operands) -> tuple`` of (rows, F) arrays or None, with a vmap rule: when every
    mapped operand is a ``feature_in`` one (rows, F), the mapped axis folds into F
    ((B, rows, F) -> (rows, B*F); unmapped feature operands are broadcast): one call.
    Otherwise one call per mapped index (jax.lax.map)."""
    def batched(axis_size, mapped, *operands):
        if not all(f or not m for f, m in zip(feature_in, mapped)):
            return None
        folded = []
        for a, m, f in zip(operands, mapped, feature_in):
            if a is not None and f:
                if not m:
                    a = jnp.broadcast_to(a[None], (axis_size,) + a.shape)
                a = jnp.moveaxis(a, 0, 1).reshape((a.shape[1], axis_size * a.shape[2]))
            folded.append(a)
        return tuple(None if o is None else
                     jnp.moveaxis(o.reshape((o.shape[0], axis_size, o.shape[1] // axis_size)), 1, 0)
                     for o in fn(*folded))

    return vmap_rule(fn, batched)


# ------------------------------------------------------------------ kernels

def _forward(indptr, indices, edge_values, x, message, reduce, skip):
    # -> y:(num_dst,F), arg:(num_dst,F) indptr's dtype (max/min) or None
    def run(ip, ix, ev, xx):
        shape = (ip.shape[0] - 1, xx.shape[1])
        arg = shape_dtype(shape, ip.dtype) if reduce in _MAX_MIN else None
        return tuple(call("gspmm_forward", [shape_dtype(shape, xx.dtype), arg], ip, ix, ev, xx,
                          message=message, reduce=reduce, skip_index_check=skip))
    return _fold_features(run, (False, False, False, True))(indptr, indices, edge_values, x)


def _backward(dy, indptr, indices, t, edge_values, x, arg, message, reduce, skip):
    # dy:(num_dst,F) -> dx:(num_src,F), dedge:(E,) (u_mul_e) or None
    need_e = edge_values is not None

    def run(g, ip, ix, tp, ti, te, ev, xx, a):
        de = shape_dtype(ix.shape, g.dtype) if need_e else None
        return tuple(call("gspmm_backward", [shape_dtype((tp.shape[0] - 1, g.shape[1]), g.dtype), de],
                          g, ip, ix, tp, ti, te, ev, xx, a,
                          message=message, reduce=reduce, skip_index_check=skip))
    # dy and arg fold into F; with dedge wanted nothing folds (dedge sums over F)
    feature = (not need_e, False, False, False, False, False, False, False, not need_e)
    # x is read for dedge only: absent otherwise (a mapped x would stop the fold)
    return _fold_features(run, feature)(dy, indptr, indices, *t, edge_values, x if need_e else None, arg)


def _transpose(indptr, indices, num_src):
    e = indices.shape[0]
    return tuple(call("csr_transpose", [shape_dtype((num_src + 1,), indptr.dtype),
                                        shape_dtype((e,), indptr.dtype), shape_dtype((e,), indptr.dtype)],
                      indptr, indices))


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7))
def _gspmm(indptr, indices, x, edge_values, transpose, message, reduce, skip):
    return _forward(indptr, indices, edge_values, x, message, reduce, skip)[0]


def _gspmm_fwd(indptr, indices, x, edge_values, transpose, message, reduce, skip):
    y, arg = _forward(indptr, indices, edge_values, x, message, reduce, skip)
    return y, (indptr, indices, x, edge_values, transpose, arg)


def _gspmm_bwd(message, reduce, skip, res, dy):
    indptr, indices, x, edge_values, transpose, arg = res
    if transpose is None:  # not given: built here, once per backward
        transpose = _transpose(indptr, indices, x.shape[0])
    dx, de = _backward(dy, indptr, indices, transpose, edge_values, x, arg, message, reduce, skip)
    return None, None, dx, de, None


_gspmm.defvjp(_gspmm_fwd, _gspmm_bwd)


# ------------------------------------------------------------------ public

def _check_graph(op, indptr, indices):
    for name, a in (("indptr", indptr), ("indices", indices)):
        if not hasattr(a, "dtype") or np.dtype(a.dtype) not in _INDEX:
            raise TypeError(f"pykernels.jax.{op}: {name} must be an int32 or int64 array, "
                            f"got {getattr(a, 'dtype', type(a).__name__)}")
        if a.ndim != 1:
            raise ValueError(f"pykernels.jax.{op}: {name} must have 1 dim, got shape {tuple(a.shape)}")
    if indptr.dtype != indices.dtype:
        raise TypeError(f"pykernels.jax.{op}: indptr ({indptr.dtype}) and indices ({indices.dtype}) "
                        "must share one dtype")
    if indptr.shape[0] < 1:
        raise ValueError(f"pykernels.jax.{op}: indptr must have shape (num_dst + 1,), got (0,)")


def csr_transpose(indptr, indices, num_src):
    """The CSC form of the CSR graph ``(indptr, indices)`` with sources ``0 .. num_src-1``:
    ``(t_indptr:(num_src+1,), t_indices:(E,) destinations, t_edge_ids:(E,) CSR positions)``,
    indptr's dtype; within a source, edges in CSR order."""
    _check_graph("csr_transpose", indptr, indices)
    if isinstance(num_src, bool) or not isinstance(num_src, (int, np.integer)) or num_src < 0:
        raise ValueError(f"pykernels.jax.csr_transpose: num_src must be a non-negative int, got {num_src!r}")
    return _transpose(indptr, indices, int(num_src))


def gspmm(indptr, indices, x, message="copy_u", reduce="sum", edge_values=None, *, transpose=None,
          skip_index_check=False):
    """``y[v] = REDUCE over the edges k of row v of msg(k)`` (see the module docstring):
    x:(num_src, F) -> y:(num_dst, F)."""
    op = "gspmm"
    if message not in _MESSAGES:
        raise ValueError(f"pykernels.jax.{op}: message must be one of 'copy_u', 'u_mul_e', got {message!r}")
    if reduce not in _REDUCES:
        raise ValueError(f"pykernels.jax.{op}: reduce must be one of 'sum', 'mean', 'max', 'min', "
                         f"got {reduce!r}")
    if message == "u_mul_e" and edge_values is None:
        raise ValueError(f"pykernels.jax.{op}: edge_values: required for message='u_mul_e'")
    if message == "copy_u" and edge_values is not None:
        raise ValueError(f"pykernels.jax.{op}: edge_values: must be None for message='copy_u' "
                         "(use message='u_mul_e')")
    _check_graph(op, indptr, indices)
    check_float(op, x=x, edge_values=edge_values)
    if x.ndim != 2:
        raise ValueError(f"pykernels.jax.{op}: x must have 2 dims (nodes, features), got shape {tuple(x.shape)}")
    if edge_values is not None and tuple(edge_values.shape) != tuple(indices.shape):
        raise ValueError(f"pykernels.jax.{op}: edge_values must have shape {tuple(indices.shape)} "
                         f"(one per edge), got {tuple(edge_values.shape)}")
    if transpose is not None:
        transpose = tuple(transpose)
        if len(transpose) != 3:
            raise ValueError(f"pykernels.jax.{op}: transpose must be csr_transpose's "
                             "(t_indptr, t_indices, t_edge_ids)")
        for name, a in zip(("t_indptr", "t_indices", "t_edge_ids"), transpose):
            if not hasattr(a, "dtype") or a.dtype != indptr.dtype or a.ndim != 1:
                raise TypeError(f"pykernels.jax.{op}: transpose's {name} must be a 1-D array of "
                                f"indptr's dtype {indptr.dtype}")
        if transpose[0].shape[0] != x.shape[0] + 1:
            raise ValueError(f"pykernels.jax.{op}: transpose's t_indptr has shape "
                             f"{tuple(transpose[0].shape)}, expected ({x.shape[0] + 1},) (num_src + 1)")
    return _gspmm(indptr, indices, x, edge_values, transpose, _MESSAGES[message], _REDUCES[reduce],
                  bool(skip_index_check))
