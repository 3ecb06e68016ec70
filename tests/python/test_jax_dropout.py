"""pykernels.jax.dropout: the mask from a jax.random key, its gradient, jit, vmap, edges.

jax has no dropout to compare with; the reference is the formula
``x * mask / (1 - rate)`` with the mask that libkernels draws for the seed
``jax.random.bits(key, (2,), uint32)`` (word 0 high), computed independently by
the NumPy binding ``pykernels.dropout(x, rate, seed)``: so the sweep checks the
seed's path through the FFI as well as the scaling and the backward.
"""
import numpy as np
import pytest

import pykernels
from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def seed_of(key) -> int:
    w = np.asarray(jax.random.bits(key, (2,), jnp.uint32))
    return (int(w[0]) << 32) | int(w[1])


def numpy_mask(key, shape, rate):
    _, mask = pykernels.dropout(np.ones(shape), rate, seed_of(key))
    return mask


@pytest.mark.parametrize("dtype, shape, rate", [
    (np.float32, (7,), 0.5), (np.float64, (3, 4, 5), 0.25), (np.float32, (), 0.5),
    (np.float64, (0,), 0.5), (np.float64, (2, 6), 0.9)])
def test_dropout_matches_the_formula_with_the_kernels_mask(dtype, shape, rate):
    key = jax.random.key(len(shape) + int(rate * 100))
    x = randn(1, shape, dtype)
    mask = jnp.asarray(numpy_mask(key, shape, rate))

    def reference(v):
        return jnp.where(mask, v / jnp.asarray(1 - rate, dtype), jnp.zeros((), dtype))

    # forward, jit bits, grad vs the reference's, check_grads (float64), vmap over x
    # with the key unmapped (every index gets the mask the key gives one x)
    check_op(lambda v: kj.dropout(key, v, rate), reference, (x,))


def test_the_mask_is_a_function_of_the_key():
    x = jnp.ones((64, 64))
    k0, k1 = jax.random.key(0), jax.random.key(1)
    a, b, c = kj.dropout(k0, x, 0.5), kj.dropout(k0, x, 0.5), kj.dropout(k1, x, 0.5)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.mean(np.asarray(a) != np.asarray(c)) > 0.3  # about half the elements differ
    # a legacy uint32[2] PRNGKey with the same bits draws the same mask
    np.testing.assert_array_equal(np.asarray(kj.dropout(jax.random.PRNGKey(0), x, 0.5)), np.asarray(a))


def test_a_traced_key_under_jit_compiles_once():
    traces = []

    @jax.jit
    def f(key, v):
        traces.append(1)
        return kj.dropout(key, v, 0.3)

    x = jnp.ones((8, 9), np.float32)
    keys = [jax.random.key(i) for i in range(3)]
    outs = [np.asarray(f(k, x)) for k in keys]
    assert len(traces) == 1  # the seed is an operand, not an attribute
    for k, o in zip(keys, outs):
        np.testing.assert_array_equal(o, np.asarray(kj.dropout(k, x, 0.3)))
    assert not np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_keep_fraction_and_scale(dtype, rate):
    x = jnp.full((200, 500), 3.0, dtype)
    y = np.asarray(kj.dropout(jax.random.key(7), x, rate))
    kept = y != 0
    n = kept.size
    # binomial: within 6 standard deviations of n (1 - rate)
    assert abs(kept.sum() - n * (1 - rate)) < 6 * np.sqrt(n * rate * (1 - rate))
    assert_close(y[kept], np.full(kept.sum(), 3.0 / (1 - rate), dtype))


def test_value_and_grad_under_jit():
    key = jax.random.key(3)
    x = randn(2, (5, 6), np.float64)
    w = randn(3, (5, 6), np.float64)
    mask = jnp.asarray(numpy_mask(key, (5, 6), 0.4))
    val, g = jax.jit(jax.value_and_grad(lambda v, k: jnp.sum(kj.dropout(k, v, 0.4) * w)))(x, key)
    assert_close(val, jnp.sum(jnp.where(mask, x / 0.6, 0.0) * w))
    assert_close(g, jnp.where(mask, w / 0.6, 0.0))


def test_vmap_over_keys_gives_each_index_its_own_mask():
    keys = jax.random.split(jax.random.key(11), 4)
    x = randn(4, (4, 10, 10), np.float32)
    out = jax.vmap(lambda k, v: kj.dropout(k, v, 0.5))(keys, x)
    for i in range(4):
        np.testing.assert_array_equal(np.asarray(out[i]), np.asarray(kj.dropout(keys[i], x[i], 0.5)))
    assert not np.array_equal(np.asarray(out[0]) != 0, np.asarray(out[1]) != 0)
    # unmapped x, mapped keys; and the gradient under vmap (the element-wise backward)
    out2 = jax.vmap(lambda k: kj.dropout(k, x[0], 0.5))(keys)
    g = jax.vmap(jax.grad(lambda v, k: jnp.sum(kj.dropout(k, v, 0.5))), in_axes=(0, 0))(x, keys)
    for i in range(4):
        np.testing.assert_array_equal(np.asarray(out2[i]), np.asarray(kj.dropout(keys[i], x[0], 0.5)))
        np.testing.assert_array_equal(np.asarray(g[i]), np.where(np.asarray(out[i]) != 0, 2.0, 0.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rate_zero_and_deterministic_are_the_identity(dtype):
    x = randn(5, (3, 4), dtype)
    key = jax.random.key(0)
    for y in (kj.dropout(key, x, 0.0), kj.dropout(key, x, 0.7, deterministic=True),
              jax.jit(lambda v: kj.dropout(key, v, 0.7, True))(x)):
        np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
    g = jax.grad(lambda v: jnp.sum(kj.dropout(key, v, 0.0) * 2.0))(x)
    np.testing.assert_array_equal(np.asarray(g), np.full((3, 4), 2.0, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rate_one_drops_everything(dtype):
    # the C ABI's p = 1: scale 0, y = x * 0 (no division by zero), gradient 0
    x = randn(6, (3, 4), dtype)
    key = jax.random.key(0)
    y, g = jax.value_and_grad(lambda v: jnp.sum(kj.dropout(key, v, 1.0)))(x)
    np.testing.assert_array_equal(np.asarray(kj.dropout(key, x, 1.0)), np.zeros((3, 4), dtype))
    np.testing.assert_array_equal(np.asarray(g), np.zeros((3, 4), dtype))


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), float("inf")])
def test_rate_outside_zero_one_is_a_value_error(rate):
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]"):
        kj.dropout(jax.random.key(0), jnp.ones(3), rate)


def test_bad_arguments_are_clear_errors():
    key = jax.random.key(0)
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.dropout(key, jnp.arange(3), 0.5)
    with pytest.raises(TypeError, match="key must be a jax.random.key"):
        kj.dropout(jnp.ones(2), jnp.ones(3), 0.5)
    with pytest.raises(ValueError, match="key must be one key"):
        kj.dropout(jax.random.split(key, 2), jnp.ones(3), 0.5)
    with pytest.raises(TypeError, match="rate must be a Python float"):
        jax.jit(lambda v, r: kj.dropout(key, v, r))(jnp.ones(3), 0.5)
    with pytest.raises(TypeError, match="deterministic must be a Python bool"):
        jax.jit(lambda v, d: kj.dropout(key, v, 0.5, d))(jnp.ones(3), True)
