"""pykernels.jax.linear against x @ w.T + b: forward, grads of x/w/b, jit, vmap, errors."""
import numpy as np
import pytest

from _jax import DTYPES, check_op, jax, jnp, kj, randn


def reference(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,fin,fout", [(1, 1, 1), (5, 7, 3), (32, 64, 10), (0, 4, 3), (3, 0, 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_reference(dtype, n, fin, fout, bias):
    x, w = randn(0, (n, fin), dtype), randn(1, (fout, fin), dtype)
    args = (x, w, randn(2, (fout,), dtype)) if bias else (x, w)
    check_op(kj.linear, reference, args, vmap=n > 0)


def test_linear_leading_dims_fold():
    x, w, b = randn(0, (2, 3, 5), np.float64), randn(1, (4, 5)), randn(2, (4,))
    check_op(kj.linear, reference, (x, w, b))


@pytest.mark.parametrize("in_axes", [(0, None, None), (1, None, None), (0, 0, None), (None, 0, 0), (0, 0, 0)])
def test_linear_vmap_rules(in_axes):
    """vmap over x folds into N; a mapped weight or bias runs per index: both equal a loop."""
    x, w, b = randn(0, (5, 7)), randn(1, (3, 7)), randn(2, (3,))
    check_op(kj.linear, reference, (x, w, b), grad=False, vmap_in_axes=in_axes)


def test_linear_grad_under_vmap():
    xs, w, b = randn(0, (4, 5, 7)), randn(1, (3, 7)), randn(2, (3,))

    def loss(f):
        return lambda x, w, b: jnp.sum(f(x, w, b) ** 2)
    ours = jax.vmap(jax.grad(loss(kj.linear), argnums=(0, 1, 2)), in_axes=(0, None, None))(xs, w, b)
    ref = jax.vmap(jax.grad(loss(reference), argnums=(0, 1, 2)), in_axes=(0, None, None))(xs, w, b)
    for a, r in zip(ours, ref):
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)


def test_linear_errors():
    x, w = randn(0, (5, 7)), randn(1, (3, 7))
    with pytest.raises(ValueError, match="features"):
        kj.linear(x, w[:, :3])
    with pytest.raises(ValueError, match="b has shape"):
        kj.linear(x, w, randn(2, (4,)))
    with pytest.raises(TypeError, match="share one dtype"):
        kj.linear(x.astype(np.float32), w)
    with pytest.raises(ValueError, match="w must have 2 dims"):
        kj.linear(x, w[None])
