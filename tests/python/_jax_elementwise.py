"""The suite of every element-wise op of pykernels.jax (tests/python/test_jax_<op>.py):
one line per op, as _elementwise.ElementwiseSuite is for the torch layer.

    SUITE = JaxElementwiseSuite(kj.elu, jax.nn.elu, params=[{}, {"alpha": 0.5}],
                                kinks=lambda alpha: (0.0,), bad=[({"alpha": 0.0}, "...")])
    SUITE.tests(globals())

defines, in the calling test module:

  test_<name>_matches_reference[case]   _jax.check_op (forward parity, jit bits, grad vs
      the reference's grad, check_grads in float64, vmap vs a loop) on
        float32 (7,), float32 0-d, float64 (0,)   with the default parameters,
        float64 (2,3,4) with check_grads          for EVERY parameter set,
        float32 (3,5)                             for the last parameter set,
      inputs drawn at ``scale`` and moved ``margin`` away from the ``kinks`` (finite
      differences must not straddle one; there conventions differ too);
  test_<name>_value_and_grad_under_jit    jit(value_and_grad) of a weighted sum;
  test_<name>_rejects_integers            TypeError before the call;
  test_<name>_bad_parameters[i]           each ``bad`` entry (parameters, message regex):
      ValueError eagerly and at trace time under jit (never the FFI's run-time error);
  test_<name>_signature_follows_jax       where ``jax_peer`` is given (jax.nn's function):
      our arguments start with its names and defaults (extensions come after).

``params`` are keyword dicts, the first the defaults ({}); both ``ours`` and
``reference`` get every parameter by keyword (defaults filled in from ``ours``'s
signature), so a reference written for the op needs no defaults.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
import pytest

from _jax import assert_close, check_op, jax, jnp, randn

F32, F64 = np.float32, np.float64


def away_from_kinks(x, kinks: Sequence[float], margin: float):
    """x with every element within ``margin`` of a kink moved to kink +- margin."""
    x = np.array(x)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, margin, -margin)
    return jnp.asarray(x)


class JaxElementwiseSuite:
    def __init__(self, ours: Callable, reference: Callable, *, params: Sequence[dict] = ({},),
                 kinks: Callable[..., Sequence[float]] = lambda **p: (), scale: float = 2.0,
                 margin: float = 0.1, bad: Sequence[tuple] = (), jax_peer: Callable | None = None,
                 name: str | None = None):
        self.ours, self.reference = ours, reference
        self.params = [dict(p) for p in params] or [{}]
        self.kinks, self.scale, self.margin = kinks, scale, margin
        self.bad, self.jax_peer = list(bad), jax_peer
        self.name = name or ours.__name__
        self.signature = inspect.signature(ours)

    def full(self, p: dict) -> dict:
        """Every parameter of ``ours`` by name: ``p`` over the defaults."""
        bound = self.signature.bind(jnp.zeros(()), **p)
        bound.apply_defaults()
        return {k: v for k, v in bound.arguments.items() if k != "x"}

    def input(self, shape, dtype, p: dict, seed: int = 0):
        x = randn(seed + len(shape) + 7, shape, F64, scale=self.scale)
        return away_from_kinks(x, self.kinks(**self.full(p)), self.margin).astype(dtype)

    def cases(self):
        first, last = self.params[0], self.params[-1]
        cases = [(F32, (7,), first, False), (F32, (), first, False), (F64, (0,), first, False)]
        cases += [(F64, (2, 3, 4), p, True) for p in self.params]
        cases.append((F32, (3, 5), last, False))
        return cases

    @staticmethod
    def case_id(case) -> str:
        dtype, shape, p, _ = case
        text = ",".join(f"{k}={v}" for k, v in p.items())
        return f"{np.dtype(dtype).name}-{'x'.join(map(str, shape)) or 'scalar'}" + (f"-{text}" if text else "")

    def bound(self, p: dict):
        kw = self.full(p)
        return (lambda v: self.ours(v, **kw)), (lambda v: self.reference(v, **kw))

    # ---------------------------------------------------------------- the tests
    def test_matches_reference(self, case):
        dtype, shape, p, grads = case
        ours, reference = self.bound(p)
        check_op(ours, reference, (self.input(shape, dtype, p),), check_grads_f64=grads)

    def test_value_and_grad_under_jit(self):
        ours, reference = self.bound(self.params[-1])
        x = self.input((4, 6), F64, self.params[-1], seed=1)
        w = randn(2, (4, 6), F64)
        val, g = jax.jit(jax.value_and_grad(lambda v: jnp.sum(ours(v) * w)))(x)
        val_r, g_r = jax.value_and_grad(lambda v: jnp.sum(reference(v) * w))(x)
        assert_close(val, val_r)
        assert_close(g, g_r)

    def test_rejects_integers(self):
        with pytest.raises(TypeError, match="float32 or float64"):
            self.ours(jnp.arange(3))

    def test_bad_parameters(self, entry):
        p, match = entry
        x = jnp.ones(3, F32)
        with pytest.raises(ValueError, match=match):
            self.ours(x, **p)
        with pytest.raises(ValueError, match=match):  # at trace time under jit as well
            jax.jit(lambda v: self.ours(v, **p))(x)

    def test_signature_follows_jax(self):
        mine = [(n, p.default) for n, p in self.signature.parameters.items()]
        theirs = [(n, p.default) for n, p in inspect.signature(self.jax_peer).parameters.items()]
        assert mine[:len(theirs)] == theirs, (mine, theirs)

    def tests(self, namespace: dict) -> None:
        """Define the tests above in ``namespace`` (a test module's globals())."""
        n = self.name

        @pytest.mark.parametrize("case", self.cases(), ids=self.case_id)
        def matches_reference(case):
            self.test_matches_reference(case)

        namespace[f"test_{n}_matches_reference"] = matches_reference
        namespace[f"test_{n}_value_and_grad_under_jit"] = lambda: self.test_value_and_grad_under_jit()
        namespace[f"test_{n}_rejects_integers"] = lambda: self.test_rejects_integers()
        if self.bad:
            @pytest.mark.parametrize("entry", self.bad, ids=lambda e: ",".join(f"{k}={v}" for k, v in e[0].items()))
            def bad_parameters(entry):
                self.test_bad_parameters(entry)
            namespace[f"test_{n}_bad_parameters"] = bad_parameters
        if self.jax_peer is not None:
            namespace[f"test_{n}_signature_follows_jax"] = lambda: self.test_signature_follows_jax()
