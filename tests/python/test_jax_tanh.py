"""pykernels.jax.tanh against jnp.tanh (jax.nn has no tanh; the suite of _jax_elementwise.py)."""
from _jax import jnp, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.tanh, jnp.tanh)
SUITE.tests(globals())
