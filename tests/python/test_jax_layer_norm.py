"""pykernels.jax.layer_norm against a jnp layer norm: forward, grads of x/weight/bias
(each alone too), jit, vmap rules, errors."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn


def reference(normalized_shape, eps=1e-5):
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)

    def f(x, weight=None, bias=None):
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = jnp.mean(x, axis=axes, keepdims=True)
        var = jnp.mean((x - mean) ** 2, axis=axes, keepdims=True)
        y = (x - mean) / jnp.sqrt(var + eps)
        if weight is not None:
            y = y * weight
        return y if bias is None else y + bias
    return f


def ours(normalized_shape, eps=1e-5):
    return lambda x, weight=None, bias=None: kj.layer_norm(x, normalized_shape, weight, bias, eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,norm,affine,eps", [
    ((4, 6), 6, "wb", 1e-5),
    ((2, 3, 4, 5), (4, 5), "w", 1e-3),
    ((3, 5), (3, 5), "", 1e-5),          # every dim normalised: one row
    ((2, 1, 7), (7,), "b", 0.0),
])
def test_layer_norm_matches_reference(dtype, shape, norm, affine, eps):
    x = randn(0, shape, dtype)
    ns = (norm,) if isinstance(norm, int) else norm
    w = randn(1, ns, dtype) if "w" in affine else None
    b = randn(2, ns, dtype) if "b" in affine else None
    args = (x, w, b) if b is not None else ((x, w) if w is not None else (x,))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    check_op(ours(norm, eps), reference(norm, eps), args, **tol)


@pytest.mark.parametrize("in_axes", [(0, None, None), (1, None, None), (0, 0, 0)])
def test_layer_norm_vmap_rules(in_axes):
    x, w, b = randn(0, (4, 6)), randn(1, (6,)), randn(2, (6,))
    check_op(ours(6), reference(6), (x, w, b), grad=False, vmap_in_axes=in_axes)


@pytest.mark.parametrize("argnums", [(0,), (1,), (2,), (0, 1, 2)])
def test_layer_norm_partial_grads_under_jit_and_vmap(argnums):
    xs, w, b = randn(0, (3, 4, 6)), randn(1, (6,)), randn(2, (6,))

    def loss(f):
        return lambda x, w, b: jnp.sum(f(x, w, b) * jnp.arange(6.0))
    g = jax.jit(jax.vmap(jax.grad(loss(ours(6)), argnums=argnums), in_axes=(0, None, None)))(xs, w, b)
    gr = jax.vmap(jax.grad(loss(reference(6)), argnums=argnums), in_axes=(0, None, None))(xs, w, b)
    for a, r in zip(g, gr):
        assert_close(a, r)


def test_layer_norm_empty_rows():
    x = jnp.zeros((0, 5))
    assert kj.layer_norm(x, 5).shape == (0, 5)
    dw = jax.grad(lambda w: kj.layer_norm(x, 5, w).sum())(jnp.ones(5))
    np.testing.assert_array_equal(dw, np.zeros(5))


def test_layer_norm_errors():
    x = np.zeros((4, 6))
    with pytest.raises(ValueError, match="trailing dims"):
        kj.layer_norm(x, 4)
    with pytest.raises(ValueError, match="trailing dims"):
        kj.layer_norm(x, (2, 4, 6))
    with pytest.raises(TypeError, match="normalized_shape"):
        kj.layer_norm(x, ())
    with pytest.raises(ValueError, match="weight has shape"):
        kj.layer_norm(x, 6, np.ones(5))
    with pytest.raises(ValueError, match="bias has shape"):
        kj.layer_norm(x, 6, None, np.ones((1, 6)))
    with pytest.raises(ValueError, match="eps"):
        kj.layer_norm(x, 6, eps=-1.0)
    with pytest.raises(TypeError, match="share one dtype"):
        kj.layer_norm(x.astype(np.float32), 6, np.ones(6))


@pytest.mark.parametrize("argnums,absent_out", [((0,), 0b110), ((1,), 0b101), ((2,), 0b011), ((0, 1, 2), 0)])
def test_layer_norm_backward_computes_only_the_requested_gradients(argnums, absent_out):
    x, w, b = randn(0, (4, 6)), randn(1, (6,)), randn(2, (6,))
    text = jax.jit(jax.grad(lambda x, w, b: jnp.sum(kj.layer_norm(x, 6, w, b) ** 2), argnums=argnums)) \
        .lower(x, w, b).as_text()
    calls = [line for line in text.splitlines() if "@pykernels.layer_norm_backward" in line]
    assert len(calls) == 1, calls
    assert f"kn_absent_out = {absent_out} : i64" in calls[0]
