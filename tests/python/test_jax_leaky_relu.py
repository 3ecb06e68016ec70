"""pykernels.jax.leaky_relu against jax.nn.leaky_relu (the suite of _jax_elementwise.py):
negative slopes too (the backward takes x); at 0 itself the derivatives differ
(jax: 1, here: negative_slope), so the inputs keep away from it."""
from _jax import jax, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.leaky_relu, jax.nn.leaky_relu,
                            params=[{}, {"negative_slope": 0.2}, {"negative_slope": -0.5}],
                            kinks=lambda negative_slope: (0.0,), jax_peer=jax.nn.leaky_relu,
                            bad=[({"negative_slope": float("-inf")}, "negative_slope must be finite")])
SUITE.tests(globals())
