"""pykernels.jax.sigmoid against jax.nn.sigmoid (the suite of _jax_elementwise.py)."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.sigmoid, jax.nn.sigmoid, scale=3.0, jax_peer=jax.nn.sigmoid)
SUITE.tests(globals())
