"""pykernels.jax.hard_sigmoid against jax.nn.hard_sigmoid (the suite of _jax_elementwise.py;
kinks at -3 and 3)."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.hard_sigmoid, jax.nn.hard_sigmoid, kinks=lambda: (-3.0, 3.0), scale=3.0,
                            jax_peer=jax.nn.hard_sigmoid)
SUITE.tests(globals())
