"""pykernels.jax.scaled_dot_product_attention against jax.nn.dot_product_attention (its
(B, T, N, H) layout swapped to ours) and a jnp einsum reference for what jax lacks
(broadcast/GQA batch dims, fully masked rows, dropout with the kernel's Philox mask):
forward, grads of query/key/value, jit, vmap (one more batch dim, and per index), errors."""
import math

import numpy as np
import pytest

import pykernels
from _jax import check_op, jax, jnp, kj, randn


def reference(q, k, v, bias=None, mask=None, scale=None, is_causal=False, keep=None, rate=0.0):
    """softmax(scale q k^T + bias, masked) (* keep / (1 - rate)) @ v; fully masked rows 0."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = jnp.einsum("...le,...se->...ls", q, k) * scale
    if bias is not None:
        s = s + bias
    allowed = jnp.ones(s.shape, bool)
    if mask is not None:
        allowed = allowed & mask
    if is_causal:
        allowed = allowed & jnp.tril(jnp.ones(s.shape[-2:], bool))
    s = jnp.where(allowed, s, -jnp.inf)
    any_row = jnp.any(allowed, axis=-1, keepdims=True)
    p = jax.nn.softmax(jnp.where(any_row, s, 0), axis=-1) * any_row
    if keep is not None:
        p = p * keep / (1 - rate)
    return jnp.einsum("...ls,...sf->...lf", p, v)


def qkv(seed, batch, length, source, e, ev, dtype=np.float64):
    return (randn(seed, batch + (length, e), dtype), randn(seed + 1, batch + (source, e), dtype),
            randn(seed + 2, batch + (source, ev), dtype))


@pytest.mark.parametrize("dtype,causal", [(np.float32, False), (np.float64, True)])
def test_matches_reference(dtype, causal):
    q, k, v = qkv(0, (2, 3), 5, 6, 4, 3, dtype)

    def ours(q, k, v):
        return kj.scaled_dot_product_attention(q, k, v, is_causal=causal)

    check_op(ours, lambda q, k, v: reference(q, k, v, is_causal=causal), (q, k, v))


def test_matches_jax_nn_dot_product_attention():
    """jax's (B, T, N, H) = ours swapped: (B, N, T, H); bias + mask + causal + scale."""
    q, k, v = qkv(3, (2, 3), 5, 5, 4, 4)
    bias = randn(6, (1, 3, 5, 5))
    mask = jax.random.bernoulli(jax.random.key(7), 0.7, (2, 1, 5, 5)).at[..., 0].set(True)
    sw = lambda a: jnp.swapaxes(a, 1, 2)  # noqa: E731

    def ours(q, k, v):
        return kj.scaled_dot_product_attention(q, k, v, bias, mask, scale=0.3, is_causal=True)

    def theirs(q, k, v):
        return sw(jax.nn.dot_product_attention(sw(q), sw(k), sw(v), bias, mask, scale=0.3, is_causal=True))

    # jax.nn takes its softmax in float32 even for float64 arrays: float32's tolerance
    check_op(ours, theirs, (q, k, v), rtol=2e-5, atol=2e-6, vmap_in_axes=(0, 0, 0))


@pytest.mark.parametrize("kind", ["bias", "bool", "uint8"])
def test_masks_broadcast_and_fewer_dims(kind):
    q, k, v = qkv(8, (2, 3), 4, 6, 5, 2)
    if kind == "bias":
        m = randn(11, (4, 1))  # (L, 1): fewer dims, broadcast over the batch and S
    else:
        m = jax.random.bernoulli(jax.random.key(12), 0.6, (3, 1, 6)).at[..., 0].set(True)
        m = m.astype(np.uint8) if kind == "uint8" else m
    kw = {"bias": m} if kind == "bias" else {"mask": m}
    ref_kw = {"bias": m} if kind == "bias" else {"mask": m.astype(bool)}
    check_op(lambda q, k, v: kj.scaled_dot_product_attention(q, k, v, **kw),
             lambda q, k, v: reference(q, k, v, **ref_kw), (q, k, v), grad=kind == "bias",
             vmap_in_axes=(0, None, 0))
    if kind == "bias":  # documented: the kernel computes no gradient for the additive mask
        g = jax.grad(lambda b: jnp.sum(kj.scaled_dot_product_attention(q, k, v, b)))(m)
        np.testing.assert_array_equal(g, 0.0)


def test_grouped_query_attention_and_fewer_key_dims():
    q = randn(13, (2, 2, 3, 4, 5))            # (B, Hkv, G, L, E)
    k, v = randn(14, (2, 2, 1, 6, 5)), randn(15, (6, 3))  # value: (S, Ev), no batch dims
    check_op(kj.scaled_dot_product_attention, reference, (q, k, v), vmap_in_axes=(0, 0, None))


@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 0, 0), (1, 0, None)])
def test_vmap_rules_and_grad_under_vmap(in_axes):
    q, k, v = qkv(16, (2,), 3, 4, 5, 2)
    check_op(kj.scaled_dot_product_attention, reference, (q, k, v), grad=False, vmap_in_axes=in_axes)
    qs, ks, vs = [jnp.stack([a, 1.1 * a, 0.9 * a], axis=ax) if ax is not None else a
                  for a, ax in zip((q, k, v), in_axes)]

    def loss(f):
        return lambda q, k, v: jnp.sum(jnp.sin(f(q, k, v)))
    grads = jax.grad(loss(kj.scaled_dot_product_attention), argnums=(0, 1, 2))
    ours = jax.vmap(grads, in_axes=in_axes)(qs, ks, vs)
    ref = jax.vmap(jax.grad(loss(reference), argnums=(0, 1, 2)), in_axes=in_axes)(qs, ks, vs)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    jaxpr = str(jax.make_jaxpr(jax.vmap(grads, in_axes=in_axes))(qs, ks, vs))
    assert "scan" not in jaxpr and "while" not in jaxpr  # one more batch dim, not a loop


def test_fully_masked_row_gives_zero():
    q, k, v = qkv(17, (2,), 3, 4, 5, 2)
    mask = jnp.ones((3, 4), bool).at[1].set(False)
    out = kj.scaled_dot_product_attention(q, k, v, mask=mask)
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(out, reference(q, k, v, mask=mask), rtol=1e-12, atol=1e-14)


def test_dropout_matches_the_kernel_philox_mask():
    q, k, v = qkv(18, (2, 2), 3, 5, 4, 3)
    rate, key = 0.3, jax.random.key(42)
    w = np.asarray(jax.random.bits(key, (2,), jnp.uint32)).astype(np.uint64)
    seed = int((w[0] << np.uint64(32)) | w[1])
    _, keep = pykernels.dropout(np.ones((2, 2, 3, 5)), rate, seed)  # the same bits on the (*B, L, S) weights
    keep = jnp.asarray(keep)
    assert 0 < int(keep.sum()) < keep.size

    def ours(q, k, v):
        return kj.scaled_dot_product_attention(q, k, v, dropout_rate=rate, dropout_rng=key)

    check_op(ours, lambda q, k, v: reference(q, k, v, keep=keep, rate=rate), (q, k, v))
    other = kj.scaled_dot_product_attention(q, k, v, dropout_rate=rate, dropout_rng=jax.random.key(43))
    assert not np.allclose(other, ours(q, k, v))


def test_value_and_grad_under_jit_float32():
    q, k, v = qkv(19, (2, 4), 8, 8, 16, 16, np.float32)

    def loss(q, k, v):
        return jnp.sum(kj.scaled_dot_product_attention(q, k, v, is_causal=True) ** 2)
    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    r = jax.value_and_grad(lambda q, k, v: jnp.sum(reference(q, k, v, is_causal=True) ** 2), argnums=(0, 1, 2))
    (val, grads), (rval, rgrads) = f(q, k, v), r(q, k, v)
    np.testing.assert_allclose(val, rval, rtol=1e-5)
    for a, b in zip(grads, rgrads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_errors():
    q, k, v = qkv(0, (2,), 3, 4, 5, 2)
    f = kj.scaled_dot_product_attention
    with pytest.raises(ValueError, match="feature"):
        f(q, k[..., :4], v)
    with pytest.raises(ValueError, match="sequence"):
        f(q, k, v[:, :3])
    with pytest.raises(ValueError, match="batch dim"):
        f(q, jnp.concatenate([k, k]), v)
    with pytest.raises(ValueError, match="last two"):
        f(q, k, v, bias=randn(1, (3, 5)))
    with pytest.raises(TypeError, match="bool or uint8"):
        f(q, k, v, mask=jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="dropout_rng"):
        f(q, k, v, dropout_rate=0.1)
    with pytest.raises(ValueError, match="dropout_rate"):
        f(q, k, v, dropout_rate=1.5, dropout_rng=jax.random.key(0))
    with pytest.raises(TypeError, match="share one dtype"):
        f(q, k.astype(jnp.float32), v)
    with pytest.raises(ValueError, match="more dims"):
        f(q[0], k, v)
