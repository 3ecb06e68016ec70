"""pykernels.jax.group_norm against a jnp group norm: forward, grads of x/weight/bias
(each alone too), jit, vmap rules, errors."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def reference(num_groups, eps=1e-5):
    def f(x, weight=None, bias=None):
        n, c = x.shape[:2]
        g = x.reshape((n, num_groups, -1))
        mean = jnp.mean(g, axis=2, keepdims=True)
        var = jnp.mean((g - mean) ** 2, axis=2, keepdims=True)
        y = ((g - mean) / jnp.sqrt(var + eps)).reshape(x.shape)
        per_channel = (c,) + (1,) * (x.ndim - 2)
        if weight is not None:
            y = y * weight.reshape(per_channel)
        return y if bias is None else y + bias.reshape(per_channel)
    return f


def ours(num_groups, eps=1e-5):
    return lambda x, weight=None, bias=None: kj.group_norm(x, num_groups, weight, bias, eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups,affine,eps", [
    ((2, 6, 4, 3), 3, "wb", 1e-5),
    ((3, 4, 5), 4, "w", 1e-3),          # one channel per group
    ((2, 6), 1, "", 1e-5),              # no spatial dims, one group
    ((1, 4, 2, 2, 3), 2, "b", 1e-5),    # 3-d spatial
])
def test_group_norm_matches_reference(dtype, shape, groups, affine, eps):
    x = randn(0, shape, dtype)
    c = shape[1]
    w = randn(1, (c,), dtype) if "w" in affine else None
    b = randn(2, (c,), dtype) if "b" in affine else None
    args = (x, w, b) if b is not None else ((x, w) if w is not None else (x,))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    check_op(ours(groups, eps), reference(groups, eps), args, **tol)


@pytest.mark.parametrize("in_axes", [(0, None, None), (2, None, None), (0, 0, 0)])
def test_group_norm_vmap_rules(in_axes):
    x, w, b = randn(0, (2, 4, 3, 3)), randn(1, (4,)), randn(2, (4,))
    check_op(ours(2), reference(2), (x, w, b), grad=False, vmap_in_axes=in_axes)


@pytest.mark.parametrize("argnums", [(0,), (1, 2), (0, 1, 2)])
def test_group_norm_partial_grads_under_jit_and_vmap(argnums):
    xs, w, b = randn(0, (3, 2, 4, 5)), randn(1, (4,)), randn(2, (4,))

    def loss(f):
        return lambda x, w, b: jnp.sum(f(x, w, b) * jnp.arange(5.0))
    g = jax.jit(jax.vmap(jax.grad(loss(ours(2)), argnums=argnums), in_axes=(0, None, None)))(xs, w, b)
    gr = jax.vmap(jax.grad(loss(reference(2)), argnums=argnums), in_axes=(0, None, None))(xs, w, b)
    for a, r in zip(g, gr):
        assert_close(a, r)


def test_group_norm_errors():
    x = np.zeros((2, 6, 4))
    with pytest.raises(ValueError, match="num_groups"):
        kj.group_norm(x, 4)
    with pytest.raises(ValueError, match="num_groups"):
        kj.group_norm(x, 0)
    with pytest.raises(ValueError, match="2 to 8 dims"):
        kj.group_norm(np.zeros(6), 2)
    with pytest.raises(ValueError, match="weight has shape"):
        kj.group_norm(x, 2, np.ones(4))
    with pytest.raises(ValueError, match="eps"):
        kj.group_norm(x, 2, eps=float("nan"))
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.group_norm(x.astype(np.int64), 2)
