"""pykernels.jax.embedding against jnp.take(weight, indices, axis=0): forward, the weight's
gradient (padding_idx, scale_grad_by_freq), none for the integer indices, jit, vmap, errors."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def reference(padding_idx=None, scale_grad_by_freq=False):
    """jnp.take, with the gradient of weight masked at padding_idx and divided by the
    index counts (torch's rules), through stop_gradient."""
    def f(indices, weight):
        v = weight.shape[0]
        scale = jnp.ones((v, 1), weight.dtype)
        if scale_grad_by_freq:
            counts = jnp.zeros(v, weight.dtype).at[indices.reshape(-1)].add(1)
            scale = (1 / jnp.maximum(counts, 1))[:, None]
        if padding_idx is not None:
            scale = scale.at[padding_idx % v].set(0)
        w = jax.lax.stop_gradient(weight) + (weight - jax.lax.stop_gradient(weight)) * scale
        return jnp.take(w, indices, axis=0)
    return f


def ours(**kw):
    return lambda indices, weight: kj.embedding(indices, weight, **kw)


def _indices(shape, v, dtype=np.int32, seed=5):
    return jax.random.randint(jax.random.key(seed), shape, 0, v).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_shape,index_dtype,kw", [
    ((7,), np.int32, {}),
    ((2, 3, 4), np.int64, dict(padding_idx=2)),
    ((), np.int32, dict(padding_idx=-1)),             # a scalar index
    ((4, 6), np.int32, dict(scale_grad_by_freq=True)),
    ((12,), np.int16, dict(padding_idx=0, scale_grad_by_freq=True)),
])
def test_embedding_matches_take(dtype, index_shape, index_dtype, kw):
    v, d = 5, 3
    weight, indices = randn(0, (v, d), dtype), _indices(index_shape, v, index_dtype)
    # padding_idx and scale_grad_by_freq make the gradient differ from the derivative on
    # purpose: check_grads (finite differences) applies to the plain lookup only
    check_op(ours(**kw), reference(**kw), (indices, weight), argnums=(1,), check_grads_f64=not kw,
             vmap=len(index_shape) > 0, vmap_in_axes=(0, None))


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (1, None)])
def test_embedding_vmap_rules(in_axes):
    """Mapped indices fold into one lookup; a mapped weight runs per index: both equal a loop."""
    weight, indices = randn(0, (6, 4)), _indices((3, 5), 6)
    check_op(ours(), reference(), (indices, weight), argnums=(1,), grad=False, vmap_in_axes=in_axes)


def test_embedding_grad_under_vmap_is_per_example():
    """scale_grad_by_freq counts within each example: a per-example backward."""
    weight, idx = randn(0, (6, 4)), _indices((3, 8), 6)

    def loss(f):
        return lambda w, i: jnp.sum(f(i, w) ** 2)
    for kw in ({}, dict(scale_grad_by_freq=True, padding_idx=1)):
        g = jax.jit(jax.vmap(jax.grad(loss(ours(**kw))), in_axes=(None, 0)))(weight, idx)
        gr = jax.vmap(jax.grad(loss(reference(**kw))), in_axes=(None, 0))(weight, idx)
        assert_close(g, gr)
        gsum = jax.grad(lambda w: jnp.sum(jax.vmap(lambda i: loss(ours(**kw))(w, i))(idx)))(weight)
        assert_close(gsum, gr.sum(0))


def test_embedding_indices_get_no_gradient():
    weight, indices = randn(0, (5, 3)), _indices((4,), 5)
    out, vjp = jax.vjp(lambda w, i: kj.embedding(i, w), weight, indices)
    dw, di = vjp(jnp.ones_like(out))
    assert di.dtype == jax.dtypes.float0
    assert_close(dw, jnp.zeros((5, 3)).at[indices].add(1.0))


def test_embedding_out_of_range_under_jit_raises_not_aborts():
    weight = randn(0, (5, 3))
    with pytest.raises(Exception, match="out of range"):
        jax.block_until_ready(jax.jit(kj.embedding)(jnp.array([1, 9], jnp.int32), weight))


def test_embedding_errors():
    weight = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        kj.embedding(np.array([0, 5]), weight)
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        kj.embedding(np.array([-1]), weight)
    with pytest.raises(ValueError, match="padding_idx"):
        kj.embedding(np.array([0]), weight, padding_idx=5)
    with pytest.raises(TypeError, match="integer"):
        kj.embedding(np.array([0.0]), weight)
    with pytest.raises(TypeError, match="integer"):
        kj.embedding(np.array([0], np.uint32), weight)
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.embedding(np.array([0]), weight.astype(np.int32))
    with pytest.raises(ValueError, match="weight must have 2 dims"):
        kj.embedding(np.array([0]), weight[0])
    with pytest.raises(TypeError, match="scale_grad_by_freq"):
        kj.embedding(np.array([0]), weight, scale_grad_by_freq=1)
