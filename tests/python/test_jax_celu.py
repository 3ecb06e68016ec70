"""pykernels.jax.celu against jax.nn.celu (the suite of _jax_elementwise.py): alpha of
either sign; 0 and inf refused before the call."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.celu, jax.nn.celu, params=[{}, {"alpha": 2.5}, {"alpha": -0.7}],
                            kinks=lambda alpha: (0.0,), jax_peer=jax.nn.celu,
                            bad=[({"alpha": 0.0}, "alpha must be != 0"),
                                 ({"alpha": float("inf")}, "alpha must be finite")])
SUITE.tests(globals())
