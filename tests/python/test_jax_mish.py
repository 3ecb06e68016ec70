"""pykernels.jax.mish against jax.nn.mish (the suite of _jax_elementwise.py)."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.mish, jax.nn.mish, scale=3.0, jax_peer=jax.nn.mish)
SUITE.tests(globals())
