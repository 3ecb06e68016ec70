"""pykernels.jax.silu (and its alias swish) against jax.nn.silu (the suite of _jax_elementwise.py)."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.silu, jax.nn.silu, scale=3.0, jax_peer=jax.nn.silu)
SUITE.tests(globals())


def test_swish_is_silu():
    assert kj.swish is kj.silu  # as jax.nn.swish is jax.nn.silu
