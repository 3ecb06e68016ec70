"""dropout on jax.Arrays (targets: jax_ffi/dropout.cpp):

    dropout(key, x, rate, deterministic=False) -> y
        training: y = x * mask / (1 - rate), mask kept with probability 1 - rate;
        deterministic=True or rate == 0: y = x (nothing drawn, no kernel call)

jax has no dropout function; flax's is the module ``nn.Dropout(rate)(x,
deterministic, rng)``. Ours is the functional form with the key first, as every
``jax.random`` function takes it: ``key`` is a ``jax.random.key`` (or a legacy
uint32[2] ``PRNGKey``), ``rate`` the probability of DROPPING an element (flax's
and torch's meaning), a static Python float in [0, 1] (ValueError otherwise;
rate = 1 drops everything: y = x * 0, gradient 0, as the C ABI defines it),
``deterministic`` a static bool (flax's name: True is evaluation mode).

The kernel's uint64 seed is ``jax.random.bits(key, (2,), uint32)``, passed as an
OPERAND (word 0 the high half: jax_ffi/common.hpp, ``Call::host_u64``), so it
is traced: one jitted function serves every key. The mask is a pure function
of (seed, x.shape) (Philox-4x32-10 on each element's row-major index,
kernels/dropout.h): the same key gives the same mask, eagerly and under jit;
``pykernels.dropout(x, rate, seed)`` (NumPy) with that seed gives it too.

Gradient (jax.custom_vjp): the forward keeps the mask (bool, x's shape; the
only residual) and the backward is kn_dropout_backward, dx = dy * mask / (1 -
rate). The key gets no gradient (it is an integer/key array).

vmap: the forward runs once per mapped index (vmap_method "sequential"), which
is exactly a Python loop: a mapped key gives each index its own mask; an
unmapped key gives every index the mask that key gives x[i] alone. (Folding
the batch into one call would draw one mask over the (B, ...) array instead:
another mask than the loop's.) The backward is element-wise: one call on the
whole batch ("broadcast_all").

CPU only for now: the seed is read on the host (``Call::host_u64``), so on a
CUDA device the forward target fails with the FFI error "a seed operand is
read on the host: CPU only" (a jax.errors.JaxRuntimeError, the process goes
on). The backward target has no seed and runs on CUDA.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .._ffi import call, check_float, like, shape_dtype

__all__ = ["dropout"]


def _forward(x, seed, rate):
    # x:(...), seed:uint32[2] -> y:(...) x's dtype, mask:(...) bool
    y, mask = call("dropout_forward", [like(x), shape_dtype(x.shape, jnp.bool_)], x, seed,
                   vmap_method="sequential", p=rate)
    return y, mask


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dropout(x, seed, rate):
    return _forward(x, seed, rate)[0]


def _dropout_fwd(x, seed, rate):
    y, mask = _forward(x, seed, rate)
    return y, mask


def _dropout_bwd(rate, mask, dy):
    # dy, mask:(...) -> dx:(...); the seed (an integer operand) gets no cotangent
    dx = call("dropout_backward", like(dy), dy, mask, vmap_method="broadcast_all", p=rate)
    return dx, None


_dropout.defvjp(_dropout_fwd, _dropout_bwd)


def _check_rate(rate) -> float:
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise TypeError("pykernels.jax.dropout: rate must be a Python float (a static parameter), "
                        f"got {type(rate).__name__}") from None
    if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"pykernels.jax.dropout: rate must be in [0, 1], got {rate}")
    return rate


def _seed(key):
    """The kernel's seed as uint32[2] from a typed key (shape ()) or a raw uint32[2] key."""
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"pykernels.jax.dropout: key must be one key (shape ()), got shape {key.shape}; "
                             "use jax.vmap for a batch of keys")
    elif key.dtype != np.uint32 or key.shape != (2,):
        raise TypeError("pykernels.jax.dropout: key must be a jax.random.key or a uint32[2] "
                        f"jax.random.PRNGKey, got {key.dtype}{list(key.shape)}")
    return jax.random.bits(key, (2,), jnp.uint32)


def dropout(key, x, rate, deterministic=False):
    """Training-mode dropout of ``x`` (float32/float64, any shape) with probability ``rate``,
    the mask drawn from ``key``; ``x`` itself when ``deterministic`` or ``rate == 0``."""
    check_float("dropout", x=x)
    rate = _check_rate(rate)
    if not isinstance(deterministic, (bool, np.bool_)):
        raise TypeError("pykernels.jax.dropout: deterministic must be a Python bool (static), "
                        f"got {type(deterministic).__name__}")
    if deterministic or rate == 0.0:
        return jnp.asarray(x)
    return _dropout(x, _seed(key), rate)
