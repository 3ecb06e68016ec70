"""pykernels.jax: libkernels on ``jax.Array`` s, through XLA's FFI.

Every function here runs a libkernels kernel as an XLA FFI custom call (the
typed FFI handlers of ``pykernels._jax_ffi``, one per ``kn_*`` entry point of
the C ABI) and differentiates through the library's backward kernel
(``jax.custom_vjp``). They work under ``jax.jit``, ``jax.grad``,
``jax.value_and_grad`` and ``jax.vmap``, in float32 and float64 (float64
needs ``jax.config.update("jax_enable_x64", True)``, as everywhere in JAX).

Names and arguments follow ``jax.nn``, ``jax.lax`` and ``optax`` where those
have the function; ``docs/jax.md`` lists each op, its vmap rule and where it
departs. Random ops (dropout) take a ``jax.random`` key, never global state.

Needs jax >= 0.4.36 (``pip install 'pykernels[jax]'``) and a pykernels built
while jax was importable (the build compiles ``pykernels._jax_ffi`` against the
FFI headers that jaxlib ships). ``import pykernels`` never imports jax.
"""
from __future__ import annotations

try:
    import jax as _jax  # noqa: F401
except ImportError as e:  # pragma: no cover - the no-jax test covers it in a subprocess
    raise ImportError("pykernels.jax needs jax (pip install 'pykernels[jax]', jax >= 0.4.36)") from e

from . import _ffi

_ffi.register_targets()

__all__: list[str] = ["targets"]

targets = _ffi.targets

from .._exports import export_op_modules as _export_op_modules  # noqa: E402
from . import ops as _ops  # noqa: E402

_export_op_modules(_ops, globals(), __all__, "pykernels.jax")
