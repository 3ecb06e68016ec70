"""pykernels.jax.mse_loss / squared_error against jnp's (p - t)**2 (optax's squared_error
formula) with every reduction: forward, grads of both arrays, jit, vmap, errors."""
import numpy as np
import pytest

from _jax import check_op, jax, jnp, kj, randn


def reference(p, t, reduction="mean"):
    se = (p - t) ** 2
    return se if reduction == "none" else (jnp.sum(se) if reduction == "sum" else jnp.mean(se))


@pytest.mark.parametrize("dtype,shape,reduction", [
    (np.float32, (7,), "none"), (np.float64, (3, 4), "none"), (np.float32, (3, 4), "mean"),
    (np.float64, (2, 3, 2), "mean"), (np.float64, (5,), "sum"), (np.float32, (0, 2), "sum")])
def test_mse_loss_matches_reference(dtype, shape, reduction):
    p, t = randn(0, shape, dtype), randn(1, shape, dtype)
    check_op(lambda a, b: kj.mse_loss(a, b, reduction), lambda a, b: reference(a, b, reduction), (p, t),
             vmap=shape[0] > 0)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_vmap_with_one_operand_unmapped(reduction):
    p, t = randn(2, (4, 3)), randn(3, (4, 3))
    check_op(lambda a, b: kj.mse_loss(a, b, reduction), lambda a, b: reference(a, b, reduction), (p, t),
             grad=False, vmap_in_axes=(0, None))


def test_mean_of_nothing_is_nan():
    assert np.isnan(float(kj.mse_loss(jnp.zeros((0,)), jnp.zeros((0,)))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_squared_error_like_optax(dtype):
    p, t = randn(4, (3, 5), dtype), randn(5, (3, 5), dtype)
    check_op(kj.squared_error, lambda a, b: (a - b) ** 2, (p, t))
    check_op(kj.squared_error, lambda a: a ** 2, (p,))


def test_errors():
    p = randn(0, (3, 4))
    with pytest.raises(ValueError, match="one shape"):
        kj.mse_loss(p, p[0])
    with pytest.raises(ValueError, match="reduction"):
        kj.mse_loss(p, p, "max")
    with pytest.raises(TypeError, match="share one dtype"):
        kj.squared_error(p, p.astype(jnp.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.squared_error(jnp.arange(3))
