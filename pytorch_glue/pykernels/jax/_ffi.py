"""The one mechanism every pykernels.jax op uses: target registration, the
FFI call, argument checks and the batching rule that folds a vmap axis into
the op's own batch dimension.

    call(target, results, *operands, vmap_method=..., **attrs)

runs the FFI target ``pykernels.<target>`` (jax_ffi/<op>.cpp) through
``jax.ffi.ffi_call``. ``results`` is one ``jax.ShapeDtypeStruct`` or a list of
them in which None marks an output the C call should not compute (a NULL
``kn_tensor*``: e.g. ``dw`` when the weight needs no gradient); ``operands``
may hold None for an absent optional tensor (a bias). Both become the
``kn_absent_in`` / ``kn_absent_out`` bit masks that the C++ side
(jax_ffi/common.hpp, ``Call``) reads. Attributes are Python floats (float64),
ints and bools (both int64); they are static: part of the jit cache key.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

try:
    from .. import _jax_ffi
except ImportError as e:  # pragma: no cover - a build without jax present
    raise ImportError(
        "pykernels.jax: this pykernels was built without its JAX FFI module (pykernels._jax_ffi), "
        "because jax was not importable when it was built; install jax, then rebuild pykernels "
        "(make pyinstall, or pip install --no-build-isolation .)") from e

_REGISTERED: dict[str, tuple[str, ...]] = {}


def register_targets() -> None:
    """Register every target of pykernels._jax_ffi with XLA, once per process (CPU, and
    CUDA where the library was built with it)."""
    if _REGISTERED:
        return
    for name, platforms in _jax_ffi.targets().items():
        for platform, capsule in platforms.items():
            jax.ffi.register_ffi_target(name, capsule, platform=platform)
        _REGISTERED[name] = tuple(platforms)


def targets() -> dict[str, tuple[str, ...]]:
    """``{target name: platforms}`` of every registered FFI target, e.g.
    ``{"pykernels.relu_forward": ("cpu",), ...}``."""
    return dict(_REGISTERED)


def _attr(name: str, value: Any):
    if isinstance(value, (bool, np.bool_)):
        return np.int64(int(value))
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    raise TypeError(f"attribute {name}: expected a Python float, int or bool, got {type(value).__name__}")


def call(target: str, results, *operands, vmap_method: Optional[str] = "sequential",
         input_output_aliases: Optional[dict[int, int]] = None, **attrs):
    """Run ``pykernels.<target>``; returns one array for one ShapeDtypeStruct, else a list
    with None where ``results`` had None.

    ``input_output_aliases`` ({operand index: result index}, logical indices, both
    present): the result starts as that operand's contents, for a C argument that is
    read and written in place (batch_norm's running statistics); XLA copies the operand
    unless it is donated."""
    single = not isinstance(results, (list, tuple))
    wanted = [results] if single else list(results)
    absent_in = sum(1 << i for i, a in enumerate(operands) if a is None)
    absent_out = sum(1 << i for i, r in enumerate(wanted) if r is None)
    aliases = None
    if input_output_aliases:
        def physical(i, items):  # the position among the present ones
            if items[i] is None:
                raise ValueError(f"pykernels.jax: {target}: alias of an absent operand or result {i}")
            return sum(1 for a in items[:i] if a is not None)
        aliases = {physical(i, operands): physical(j, wanted) for i, j in input_output_aliases.items()}
    fn = jax.ffi.ffi_call("pykernels." + target, [r for r in wanted if r is not None],
                          vmap_method=vmap_method, input_output_aliases=aliases)
    outs = fn(*[a for a in operands if a is not None], kn_absent_in=np.int64(absent_in),
              kn_absent_out=np.int64(absent_out),
              **{k: _attr(k, v) for k, v in attrs.items()})
    if single:
        return outs[0]
    it = iter(outs)
    return [None if r is None else next(it) for r in wanted]


# ------------------------------------------------------------------ checks

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_float(op: str, **arrays) -> np.dtype:
    """Every named array is float32 or float64, all of one dtype; returns it. A clear
    TypeError before any FFI call (the kernel would refuse it at run time)."""
    dtype = None
    for name, a in arrays.items():
        if a is None:
            continue
        d = np.dtype(jnp.result_type(a)) if not hasattr(a, "dtype") else np.dtype(a.dtype)
        if d not in _FLOATS:
            raise TypeError(f"pykernels.jax.{op}: {name} has dtype {d}; expected float32 or float64")
        if dtype is None:
            dtype = d
        elif d != dtype:
            raise TypeError(f"pykernels.jax.{op}: {name} has dtype {d} but the other arrays are {dtype}; "
                            "all float arrays of one call share one dtype")
    return dtype


def check_ndim(op: str, name: str, a, ndims: Sequence[int] | int) -> None:
    allowed = (ndims,) if isinstance(ndims, int) else tuple(ndims)
    if a.ndim not in allowed:
        want = " or ".join(str(n) for n in allowed)
        raise ValueError(f"pykernels.jax.{op}: {name} must have {want} dims, got shape {tuple(a.shape)}")


def shape_dtype(shape, dtype) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(tuple(int(s) for s in shape), dtype)


def like(a) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(a.shape, a.dtype)


# ------------------------------------------------------------------ batching

def map_per_index(fn: Callable, operands, mapped):
    """``fn`` once per index of the mapped axis (``jax.lax.map``, XLA's
    vmap_method="sequential"), the unmapped operands shared: every rule's fallback."""
    idx = [i for i, m in enumerate(mapped) if m]

    def one(xs):
        args = list(operands)
        for i, x in zip(idx, xs):
            args[i] = x
        return fn(*args)

    return jax.lax.map(one, [operands[i] for i in idx])


def vmap_rule(fn: Callable, batched: Callable) -> Callable:
    """``fn(*operands)`` (arrays or None) with a custom vmap rule: ``batched(axis_size,
    mapped, *operands)`` (``mapped[i]``: operand i carries the mapped axis, at dim 0)
    returns the batched result in one kernel call, or None where it does not apply;
    then the op runs once per index (map_per_index). Every result is batched."""
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, *operands):
        mapped = [bool(b) and a is not None for a, b in zip(operands, in_batched)]
        result = batched(axis_size, mapped, *operands)
        if result is None:
            result = map_per_index(fn, operands, mapped)
        return result, jax.tree_util.tree_map(lambda _: True, result)

    return wrapped


def fold_batch(fn: Callable, fold_in: Sequence[bool], fold_out: Sequence[bool]) -> Callable:
    """``fn(*operands)`` (arrays or None) with a vmap rule that folds the mapped axis into
    dim 0 of the operands marked ``fold_in`` and of the results marked ``fold_out``: the
    op's own batch dimension (linear's N, conv2d's N, softmax's rows...), so that vmap
    costs one kernel call on (B*N, ...) instead of B calls.

    It applies when every mapped operand is a ``fold_in`` one (the others, e.g. the
    weight, unmapped) and every result is ``fold_out``; unmapped ``fold_in`` operands
    are broadcast along the mapped axis. Otherwise (a mapped weight, or a result that
    sums over the batch such as dw) the rule runs the op once per mapped index.
    """
    def batched(axis_size, mapped, *operands):
        if not (all(f or not m for f, m in zip(fold_in, mapped)) and all(fold_out)):
            return None
        folded = []
        for a, m, f in zip(operands, mapped, fold_in):
            if a is None or not f:
                folded.append(a)
                continue
            if not m:
                a = jnp.broadcast_to(a[None], (axis_size,) + a.shape)
            folded.append(a.reshape((axis_size * a.shape[1],) + a.shape[2:]))
        out = fn(*folded)
        outs = out if isinstance(out, (list, tuple)) else [out]
        unfolded = [None if o is None else o.reshape((axis_size, o.shape[0] // axis_size) + o.shape[1:])
                    for o in outs]
        return unfolded if isinstance(out, (list, tuple)) else unfolded[0]

    return vmap_rule(fn, batched)
