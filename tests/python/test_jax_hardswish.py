"""pykernels.jax.hard_swish (and its alias hard_silu) against jax.nn.hard_swish (the suite of
_jax_elementwise.py; kinks at -3 and 3)."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.hard_swish, jax.nn.hard_swish, kinks=lambda: (-3.0, 3.0), scale=3.0,
                            jax_peer=jax.nn.hard_swish)
SUITE.tests(globals())


def test_hard_silu_is_hard_swish():
    assert kj.hard_silu is kj.hard_swish  # jax.nn.hard_swish is an alias of jax.nn.hard_silu
