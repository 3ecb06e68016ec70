"""pykernels.jax.relu6 against jax.nn.relu6 (the suite of _jax_elementwise.py)."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.relu6, jax.nn.relu6, kinks=lambda: (0.0, 6.0), scale=4.0,
                            jax_peer=jax.nn.relu6)
SUITE.tests(globals())
