"""What every pykernels.jax test uses (tests/python/test_jax_<op>.py).

Importing this module skips the calling test module when jax (or the JAX FFI
module of this build) is missing, turns on float64 (jax_enable_x64) for the
process (the suites test float32 and float64) and makes the CPU jax's default
device (the CPU handlers; test_jax_cuda.py places its arrays on a GPU itself).

    check_op(ours, reference, args, ...)   the standard sweep of one op and one
        argument tuple against JAX's own implementation:
          forward parity in the arrays' dtype (tolerance by dtype),
          jax.jit gives the same bits as eager,
          jax.grad (through our custom_vjp) against the reference's gradient,
          jax.test_util.check_grads in float64 (numerical vs our backward),
          jax.vmap over a stacked batch against a Python loop of calls.
"""
from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
try:
    import pykernels.jax as kj  # noqa: F401
except ImportError as e:  # a build made without jax importable
    pytest.skip(f"pykernels.jax unavailable: {e}", allow_module_level=True)

import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

jax.config.update("jax_enable_x64", True)
# The suites test the CPU handlers: on a GPU machine (make test-gpu) jax's default device
# would be the GPU; test_jax_cuda.py puts its arrays there explicitly instead.
jax.config.update("jax_default_device", jax.devices("cpu")[0])

TOL = {np.dtype(np.float32): dict(rtol=2e-5, atol=2e-5), np.dtype(np.float64): dict(rtol=1e-10, atol=1e-10)}
DTYPES = [np.float32, np.float64]


def randn(key: int, shape, dtype=np.float64, scale=1.0):
    return (jax.random.normal(jax.random.key(key), shape, dtype=jnp.float64) * scale).astype(dtype)


def assert_close(ours, ref, dtype=None, rtol=None, atol=None, what=""):
    ours, ref = np.asarray(ours), np.asarray(ref)
    tol = dict(TOL[np.dtype(dtype or ours.dtype)])
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    assert ours.dtype == ref.dtype, (what, ours.dtype, ref.dtype)
    np.testing.assert_allclose(ours, ref, err_msg=what, **tol)


def _loss(fn, out_weights):
    """sum(out * weights): a scalar whose gradient sends a non-constant cotangent."""
    def loss(*args):
        out = fn(*args)
        outs = out if isinstance(out, (list, tuple)) else (out,)
        return sum(jnp.sum(o * w) for o, w in zip(outs, out_weights))
    return loss


def check_op(ours, reference, args, *, argnums=None, grad=True, check_grads_f64=True, vmap=True,
             vmap_in_axes=0, rtol=None, atol=None, grad_rtol=None, grad_atol=None, eps=None):
    """The standard sweep (see the module docstring). ``args`` are arrays (one dtype);
    ``argnums`` the differentiable positions (default: every float array)."""
    args = tuple(args)
    if argnums is None:
        argnums = tuple(i for i, a in enumerate(args)
                        if a is not None and hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jnp.floating))
    out = ours(*args)
    ref = reference(*args)
    outs = out if isinstance(out, (list, tuple)) else (out,)
    refs = ref if isinstance(ref, (list, tuple)) else (ref,)
    for o, r in zip(outs, refs):
        assert_close(o, r, rtol=rtol, atol=atol, what="forward")

    jitted = jax.jit(ours)(*args)
    for o, j in zip(outs, jitted if isinstance(jitted, (list, tuple)) else (jitted,)):
        np.testing.assert_array_equal(np.asarray(o), np.asarray(j), err_msg="jit differs from eager")

    if grad and argnums:
        weights = [randn(100 + i, np.shape(o), o.dtype) for i, o in enumerate(outs)]
        g = jax.grad(_loss(ours, weights), argnums=argnums)(*args)
        gr = jax.grad(_loss(reference, weights), argnums=argnums)(*args)
        for i, (a, b) in enumerate(zip(g, gr)):
            assert_close(a, b, rtol=grad_rtol or rtol, atol=grad_atol or atol, what=f"grad of arg {argnums[i]}")
        gj = jax.jit(jax.grad(_loss(ours, weights), argnums=argnums))(*args)
        for a, b in zip(g, gj):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg="jit(grad) differs from grad")
        if check_grads_f64 and all(np.dtype(args[i].dtype) == np.float64 for i in argnums):
            def partial_fn(*diff):
                full = list(args)
                for i, d in zip(argnums, diff):
                    full[i] = d
                return ours(*full)
            check_grads(partial_fn, tuple(args[i] for i in argnums), order=1, modes=["rev"],
                        **({} if eps is None else {"eps": eps}))

    if vmap:
        batch = 3
        in_axes = vmap_in_axes if isinstance(vmap_in_axes, (list, tuple)) else \
            tuple(vmap_in_axes if (a is not None and hasattr(a, "shape")) else None for a in args)
        stacked = []
        for i, (a, ax) in enumerate(zip(args, in_axes)):
            if ax is None:
                stacked.append(a)
            else:
                extra = [a] + [(a * (1 + 0.1 * k) if jnp.issubdtype(a.dtype, jnp.floating) else a)
                               for k in range(1, batch)]
                stacked.append(jnp.stack(extra, axis=ax))
        vout = jax.vmap(ours, in_axes=tuple(in_axes))(*stacked)
        vouts = vout if isinstance(vout, (list, tuple)) else (vout,)
        for k in range(batch):
            one = ours(*[a if ax is None else jnp.take(a, k, axis=ax) for a, ax in zip(stacked, in_axes)])
            ones = one if isinstance(one, (list, tuple)) else (one,)
            for v, o in zip(vouts, ones):
                assert_close(v[k], o, rtol=rtol, atol=atol, what=f"vmap index {k}")
