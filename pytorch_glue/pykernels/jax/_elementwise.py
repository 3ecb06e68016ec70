"""The JAX function of an element-wise op with scalar parameters, from a short spec
(``make new-op`` writes an op's pykernels/jax/ops/<op>.py as one call):

    softplus = elementwise_op("softplus", params=[Param("beta", float, 1.0),
                              Param("threshold", float, 20.0)], saves="x")

builds ``softplus(x, beta=1.0, threshold=20.0)``: the FFI target
``pykernels.<op>_forward`` (x -> y, the parameters as attributes) under a
``jax.custom_vjp`` whose backward runs ``pykernels.<op>_backward`` on
(grad_output, x) or (grad_output, y) as ``saves`` says (what the kernel's
backward takes; only that array is kept for the backward). The parameters are
static (non-differentiable; a change recompiles under jit). vmap: the op maps
any shape, so the vmap_method is "broadcast_all": one call on the whole batch.

Scalar checks happen in Python, before any FFI call (ValueError, also at trace
time under jit): a float parameter must be finite (the C ABI's rule for every
scalar), a ``Param.rule`` restricts it further (the scaffold's PARAMS rules:
"positive", "nonnegative", "nonzero"), and ``check(**values)`` may test
parameters together (hardtanh's min_val <= max_val).
"""
from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import jax

from ._ffi import call, check_float, like


@dataclass(frozen=True)
class Param:
    """A scalar parameter, in the order of the function's signature."""
    name: str
    type: type      # float (float64 attribute), int or bool (int64 attribute)
    default: Any
    rule: str = ""  # beyond finite: "positive", "nonnegative" or "nonzero" (float or int)

    def __post_init__(self):
        if self.type not in (float, int, bool):
            raise TypeError(f"Param {self.name}: type {self.type!r} is not float, int or bool")
        if self.rule not in _RULES or (self.rule and self.type is bool):
            raise ValueError(f"Param {self.name}: rule {self.rule!r} is not one of "
                             f"{sorted(r for r in _RULES if r)} (none for a bool)")
        object.__setattr__(self, "default", self.type(self.default))

    def value(self, op: str, v):
        """v converted to the parameter's type, or a ValueError/TypeError naming it."""
        try:  # a concrete 0-d array converts; a traced one cannot (the value is static)
            v = self.type(v)
        except (TypeError, ValueError):
            raise TypeError(f"pykernels.jax.{op}: {self.name} must be a Python {self.type.__name__} "
                            f"(a static parameter), got {type(v).__name__}") from None
        if self.type is float and not math.isfinite(v):
            raise ValueError(f"pykernels.jax.{op}: {self.name} must be finite, got {v}")
        if not _RULES[self.rule][0](v):
            raise ValueError(f"pykernels.jax.{op}: {self.name} must be {_RULES[self.rule][1]}, got {v}")
        return v


_RULES = {"": (lambda v: True, "any"), "positive": (lambda v: v > 0, "> 0"),
          "nonnegative": (lambda v: v >= 0, ">= 0"), "nonzero": (lambda v: v != 0, "!= 0")}


def elementwise_op(op: str, *, params: Sequence[Param] = (), saves: str = "x", name: str | None = None,
                   doc: str | None = None, check: Callable[..., None] | None = None):
    """The public function ``name`` (default: ``op``) over the targets of kernels/<op>.h."""
    if saves not in ("x", "y"):
        raise ValueError(f"{op}: saves must be 'x' or 'y', got {saves!r}")
    params = tuple(params)
    names = [p.name for p in params]
    public = name or op

    def forward(x, *values):
        return call(f"{op}_forward", like(x), x, vmap_method="broadcast_all", **dict(zip(names, values)))

    @functools.partial(jax.custom_vjp, nondiff_argnums=tuple(range(1, 1 + len(params))))
    def f(x, *values):
        return forward(x, *values)

    def f_fwd(x, *values):
        y = forward(x, *values)
        return y, (x if saves == "x" else y)

    def f_bwd(*args):
        values, saved, grad = args[:len(params)], args[-2], args[-1]
        dx = call(f"{op}_backward", like(saved), grad, saved, vmap_method="broadcast_all",
                  **dict(zip(names, values)))
        return (dx,)

    f.defvjp(f_fwd, f_bwd)

    def function(x, *args, **kwargs):
        bound = signature.bind(x, *args, **kwargs)
        bound.apply_defaults()
        check_float(public, x=x)
        values = tuple(p.value(public, bound.arguments[p.name]) for p in params)
        if check is not None:
            check(**dict(zip(names, values)))
        return f(x, *values)

    signature = inspect.Signature(
        [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default)
           for p in params])
    function.__signature__ = signature
    function.__name__ = function.__qualname__ = public
    function.__doc__ = doc or (f"``{public}`` element-wise on a float32/float64 array of any shape "
                               f"(libkernels' {op} kernels; gradient from its {'input' if saves == 'x' else 'output'}).")
    return function
