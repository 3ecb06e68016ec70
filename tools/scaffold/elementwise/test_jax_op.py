"""pykernels.jax.@@op@@ against @@jax_reference_doc@@: the suite of
tests/python/_jax_elementwise.py (forward parity, jit, grad vs the reference's
grad, check_grads in float64, vmap, float32/float64, 0-d to 3-d and empty
shapes, each parameter changed alone, integers and bad parameters refused).
Skips when the build has no JAX FFI module. Run alone: make check OP=@@op@@"""
from _jax import jax, jnp, kj  # noqa: F401
from _jax_elementwise import JaxElementwiseSuite
@@jax_py_reference@@

# Where the derivative jumps, add kinks=lambda <params>: (points,): the inputs keep 0.1
# away from them (finite differences must not straddle one). scale= sets the inputs' spread.
SUITE = JaxElementwiseSuite(kj.@@op@@, reference, params=[{}@@jax_params_changed@@],
                            bad=[@@jax_bad@@])
SUITE.tests(globals())
