"""pykernels.jax.elu against jax.nn.elu (the suite of _jax_elementwise.py): alpha of
either sign and 0; inf/NaN refused before the call."""
import pytest

from _jax import jax, jnp, kj
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.elu, jax.nn.elu, params=[{}, {"alpha": 0.5}, {"alpha": -1.5}, {"alpha": 0.0}],
                            kinks=lambda alpha: (0.0,), jax_peer=jax.nn.elu,
                            bad=[({"alpha": float("inf")}, "alpha must be finite"),
                                 ({"alpha": float("nan")}, "alpha must be finite")])
SUITE.tests(globals())


def test_elu_alpha_is_static():
    # an FFI attribute: a traced alpha (jax.nn.elu would accept one) is a clear TypeError
    with pytest.raises(TypeError, match="alpha must be a Python float"):
        jax.jit(lambda v, a: kj.elu(v, a))(jnp.ones(3), 0.5)
