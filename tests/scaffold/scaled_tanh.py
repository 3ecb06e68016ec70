"""The fixture of the scaffold's self-test (tests/scaffold/run.sh): an op torch does
not have, y = alpha * tanh(x) with alpha > 0, differentiated from its OUTPUT --
the other branch of every choice softplus (the guide's example) makes. These are
the only lines a person writes; fill.py puts them where the scaffold asks."""
NAME = "scaled_tanh"
PARAMS = "alpha:float=1.0:positive"
BACKWARD_FROM = "output"

# kernels/formulas/scaled_tanh.hpp
FORWARD = "    return alpha * tanh_t(x);"
BACKWARD = "    return dy * (alpha - y * y / alpha);  // alpha (1 - tanh^2), tanh = y / alpha"
# tests/cpp/test_scaled_tanh.cpp (double)
REFERENCE_FORWARD = "  return alpha * std::tanh(x);"
REFERENCE_DERIVATIVE = "  return alpha / (std::cosh(x) * std::cosh(x));"
# tests/python/test_scaled_tanh.py (torch has no scaled_tanh)
PY_REFERENCE = "    return alpha * torch.tanh(x)"
# tests/python/test_jax_scaled_tanh.py (jax.nn has no scaled_tanh)
JAX_REFERENCE = "    return alpha * jnp.tanh(x)"
