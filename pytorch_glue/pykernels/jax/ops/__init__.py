"""The JAX functions of operators, one module per operator (pykernels/jax/ops/<op>.py),
each over that op's FFI targets (jax_ffi/<op>.cpp). ``import pykernels.jax`` exports
every name in a module's ``__all__`` as ``pykernels.jax.<name>``."""
