"""pykernels.jax.hard_tanh against jax.nn.hard_tanh (the suite of _jax_elementwise.py).
min_val/max_val are our extension: their reference is jnp.clip (jax.nn.hard_tanh
itself for the defaults); equal bounds give a constant with gradient 0."""
from _jax import jax, jnp, kj
from _jax_elementwise import JaxElementwiseSuite


def reference(x, min_val, max_val):
    if (min_val, max_val) == (-1.0, 1.0):
        return jax.nn.hard_tanh(x)
    return jnp.clip(x, min_val, max_val)


SUITE = JaxElementwiseSuite(kj.hard_tanh, reference,
                            params=[{}, {"min_val": -0.5, "max_val": 2.0}, {"min_val": 0.25, "max_val": 0.25}],
                            kinks=lambda min_val, max_val: (min_val, max_val), jax_peer=jax.nn.hard_tanh,
                            bad=[({"min_val": 1.0, "max_val": -1.0}, r"min_val \(1.0\) must be <= max_val \(-1.0\)"),
                                 ({"max_val": float("inf")}, "max_val must be finite")])
SUITE.tests(globals())
