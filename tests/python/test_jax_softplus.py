"""pykernels.jax.softplus against torch's formula in jnp (beta and threshold are our
extension; the suite of _jax_elementwise.py) and against jax.nn.softplus for the defaults."""
import numpy as np
import pytest

from _jax import DTYPES, assert_close, jax, jnp, kj
from _jax_elementwise import JaxElementwiseSuite


def reference(x, beta, threshold):
    # linear where beta x > threshold, log(1 + exp(beta x)) / beta elsewhere
    bx = beta * x
    return jnp.where(bx > threshold, x, jnp.logaddexp(bx, 0.0) / beta)


SUITE = JaxElementwiseSuite(kj.softplus, reference,
                            params=[{}, {"beta": 2.0, "threshold": 3.0}, {"beta": -1.5, "threshold": 2.0}],
                            kinks=lambda beta, threshold: (threshold / beta,), scale=3.0,
                            jax_peer=jax.nn.softplus,
                            bad=[({"beta": 0.0}, "beta must be != 0"),
                                 ({"threshold": float("nan")}, "threshold must be finite")])
SUITE.tests(globals())


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_defaults_match_jax_nn_softplus_beyond_the_threshold(dtype):
    # jax.nn.softplus has no linear cut-off: above threshold 20 the values differ by
    # log1p(exp(-x)) < 2.1e-9 (inside float64's tolerance relative to x >= 20), the
    # derivatives (1 vs sigmoid(x)) by exp(-x) < 2.1e-9 absolute
    x = jnp.asarray([-30.0, -5.0, 0.0, 5.0, 19.5, 20.5, 40.0], dtype)
    assert_close(kj.softplus(x), jax.nn.softplus(x))
    assert_close(jax.grad(lambda v: kj.softplus(v).sum())(x), jax.grad(lambda v: jax.nn.softplus(v).sum())(x),
                 atol=max(2.1e-9, 2e-5 if dtype == np.float32 else 0.0))
