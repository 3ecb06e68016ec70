"""pykernels.jax.softmax / log_softmax against jax.nn.softmax / log_softmax: every axis,
both dtypes, grad, jit, vmap (the axis shifted under the mapped one), errors."""
import numpy as np
import pytest

from _jax import check_op, jax, jnp, kj, randn

FNS = {"softmax": (kj.softmax, jax.nn.softmax), "log_softmax": (kj.log_softmax, jax.nn.log_softmax)}


@pytest.mark.parametrize("name", sorted(FNS))
@pytest.mark.parametrize("dtype,shape,axis", [(np.float32, (7,), -1), (np.float64, (3, 5), -1),
                                              (np.float32, (3, 5), 0), (np.float64, (2, 3, 4), 1),
                                              (np.float64, (2, 0, 3), -1)])
def test_matches_jax_nn(name, dtype, shape, axis):
    ours, ref = FNS[name]
    x = randn(0, shape, dtype, scale=3.0)
    check_op(lambda a: ours(a, axis), lambda a: ref(a, axis=axis), (x,))


@pytest.mark.parametrize("name", sorted(FNS))
def test_vmap_over_a_middle_axis_and_nested(name):
    ours, ref = FNS[name]
    x = randn(1, (3, 4, 5))
    f, r = (lambda a: ours(a, 0)), (lambda a: ref(a, axis=0))
    np.testing.assert_allclose(jax.vmap(f, in_axes=1)(x), jax.vmap(r, in_axes=1)(x), rtol=1e-12, atol=1e-14)
    nested = jax.vmap(jax.vmap(jax.grad(lambda a: jnp.sum(jnp.sin(f(a))))), in_axes=2)
    nested_ref = jax.vmap(jax.vmap(jax.grad(lambda a: jnp.sum(jnp.sin(r(a))))), in_axes=2)
    np.testing.assert_allclose(nested(x[..., None]), nested_ref(x[..., None]), rtol=1e-12, atol=1e-14)
    # one call per direction on the whole batched array, no per-index loop
    jaxpr = str(jax.make_jaxpr(nested)(x[..., None]))
    assert "scan" not in jaxpr and "while" not in jaxpr and jaxpr.count("ffi_call[") == 2


def test_large_logits_and_value_and_grad_under_jit():
    x = randn(2, (4, 6), np.float32) * 1e3
    v, g = jax.jit(jax.value_and_grad(lambda a: jnp.sum(kj.log_softmax(a)[:, 0])))(x)
    vr, gr = jax.value_and_grad(lambda a: jnp.sum(jax.nn.log_softmax(a)[:, 0]))(x)
    np.testing.assert_allclose(v, vr, rtol=1e-6)
    np.testing.assert_allclose(g, gr, rtol=1e-5, atol=1e-6)


def test_errors():
    x = randn(0, (3, 4))
    for f in (kj.softmax, kj.log_softmax):
        with pytest.raises(ValueError, match="out of range"):
            f(x, 2)
        with pytest.raises(TypeError, match="one int"):
            f(x, (0, 1))
        with pytest.raises(ValueError, match="0-d"):
            f(x[0, 0])
        with pytest.raises(TypeError, match="float32 or float64"):
            f(jnp.arange(3))
