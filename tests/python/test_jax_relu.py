"""pykernels.jax.relu against jax.nn.relu (the shared sweep of _jax.check_op)."""
import numpy as np
import pytest

from _jax import DTYPES, check_op, jax, kj, randn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 5), (2, 3, 4, 5)])
def test_relu_matches_jax(dtype, shape):
    x = randn(0, shape, dtype)
    check_op(kj.relu, jax.nn.relu, (x,), check_grads_f64=False, vmap=len(shape) > 0)


def test_relu_check_grads_away_from_the_kink():
    x = randn(1, (4, 6), np.float64)
    x = x + np.sign(x) * 0.1  # no finite-difference step crosses 0
    check_op(kj.relu, jax.nn.relu, (x,))


def test_relu_rejects_integers():
    with pytest.raises(TypeError, match="float32 or float64"):
        kj.relu(jax.numpy.arange(3))
