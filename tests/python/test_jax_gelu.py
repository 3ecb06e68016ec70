"""pykernels.jax.gelu against jax.nn.gelu, both forms (the suite of _jax_elementwise.py)."""
import numpy as np

from _jax import assert_close, jax, kj, randn
from _jax_elementwise import JaxElementwiseSuite

SUITE = JaxElementwiseSuite(kj.gelu, jax.nn.gelu, params=[{}, {"approximate": False}, {"approximate": True}],
                            jax_peer=jax.nn.gelu)
SUITE.tests(globals())


def test_gelu_default_is_the_tanh_form():
    # jax.nn.gelu's default (torch's is the exact erf form): KN_GELU_TANH
    x = randn(3, (64,), np.float64, scale=3.0)
    assert_close(kj.gelu(x), kj.gelu(x, approximate=True))
    assert np.max(np.abs(np.asarray(kj.gelu(x) - kj.gelu(x, approximate=False)))) > 1e-5
