"""The element-wise activations of pykernels.jax against jax.nn (one table, one sweep).

Every row of ACTIVATIONS is (our function, JAX's own, the parameter sets to try,
where its derivative jumps, the input's scale). Each op runs the shared sweep
of _jax.check_op (forward parity, jit bits, grad vs JAX's grad, check_grads in
float64, vmap vs a loop) on:

  float32 (7,), float32 0-d, float64 (0,)     with the default parameters
  float64 (2,3,4) with check_grads            for EVERY parameter set
  float32 (3,5)                               for the last parameter set

inputs moved 0.1 away from the kinks (finite differences must not straddle
one; there JAX and torch's conventions differ too: leaky_relu'(0) is 1 in jax,
negative_slope here). References: jax.nn's function; jnp.tanh (jax.nn has
none); hard_tanh with min_val/max_val and softplus with beta/threshold are our
extensions, so their reference is the formula in jnp (and jax.nn's function for
the defaults). Run one op with ``-k gelu``.
"""
import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from _jax import DTYPES, assert_close, check_op, jax, jnp, kj, randn

F32, F64 = np.float32, np.float64


def hard_tanh_ref(x, min_val=-1.0, max_val=1.0):
    if (min_val, max_val) == (-1.0, 1.0):
        return jax.nn.hard_tanh(x)
    return jnp.clip(x, min_val, max_val)


def softplus_ref(x, beta=1.0, threshold=20.0):
    # torch's softplus: linear where beta x > threshold, log(1 + exp(beta x)) / beta elsewhere
    bx = beta * x
    return jnp.where(bx > threshold, x, jnp.logaddexp(bx, 0.0) / beta)


@dataclass
class Act:
    name: str                     # the pytest id (the capi/jax_ffi basename)
    ours: Callable
    reference: Callable
    params: list = field(default_factory=lambda: [{}])   # [0] = the defaults
    kinks: Callable = lambda **p: ()                     # where the derivative jumps
    scale: float = 2.0


ACTIVATIONS = [
    Act("relu6", kj.relu6, jax.nn.relu6, kinks=lambda: (0.0, 6.0), scale=4.0),
    Act("sigmoid", kj.sigmoid, jax.nn.sigmoid, scale=3.0),
    Act("tanh", kj.tanh, jnp.tanh),
    Act("gelu", kj.gelu, jax.nn.gelu, params=[{}, {"approximate": False}, {"approximate": True}]),
    Act("silu", kj.silu, jax.nn.silu, scale=3.0),
    Act("mish", kj.mish, jax.nn.mish, scale=3.0),
    Act("elu", kj.elu, jax.nn.elu, params=[{}, {"alpha": 0.5}, {"alpha": -1.5}, {"alpha": 0.0}],
        kinks=lambda alpha=1.0: (0.0,)),
    Act("celu", kj.celu, jax.nn.celu, params=[{}, {"alpha": 2.5}, {"alpha": -0.7}],
        kinks=lambda alpha=1.0: (0.0,)),
    Act("leaky_relu", kj.leaky_relu, jax.nn.leaky_relu,
        params=[{}, {"negative_slope": 0.2}, {"negative_slope": -0.5}],
        kinks=lambda negative_slope=0.01: (0.0,)),
    Act("hardtanh", kj.hard_tanh, hard_tanh_ref,
        params=[{}, {"min_val": -0.5, "max_val": 2.0}, {"min_val": 0.25, "max_val": 0.25}],
        kinks=lambda min_val=-1.0, max_val=1.0: (min_val, max_val)),
    Act("hardsigmoid", kj.hard_sigmoid, jax.nn.hard_sigmoid, kinks=lambda: (-3.0, 3.0), scale=3.0),
    Act("hardswish", kj.hard_swish, jax.nn.hard_swish, kinks=lambda: (-3.0, 3.0), scale=3.0),
    Act("softplus", kj.softplus, softplus_ref,
        params=[{}, {"beta": 2.0, "threshold": 3.0}, {"beta": -1.5, "threshold": 2.0}],
        kinks=lambda beta=1.0, threshold=20.0: (threshold / beta,), scale=3.0),
]
BY_NAME = {a.name: a for a in ACTIVATIONS}


def away_from_kinks(x, kinks, margin=0.1):
    """x with every element within ``margin`` of a kink moved to kink +- margin."""
    x = np.array(x)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, margin, -margin)
    return jnp.asarray(x)


def sweep_cases():
    for a in ACTIVATIONS:
        first, last = a.params[0], a.params[-1]
        yield a.name, F32, (7,), first, False
        yield a.name, F32, (), first, False
        yield a.name, F64, (0,), first, False
        for p in a.params:
            yield a.name, F64, (2, 3, 4), p, True
        yield a.name, F32, (3, 5), last, False


def case_id(case):
    name, dtype, shape, params, grads = case
    p = ",".join(f"{k}={v}" for k, v in params.items())
    return f"{name}-{np.dtype(dtype).name}-{'x'.join(map(str, shape)) or 'scalar'}" + (f"-{p}" if p else "")


@pytest.mark.parametrize("case", list(sweep_cases()), ids=case_id)
def test_activation_matches_jax(case):
    name, dtype, shape, params, grads = case
    a = BY_NAME[name]
    x = away_from_kinks(randn(len(shape) + 7, shape, F64, scale=a.scale), a.kinks(**params)).astype(dtype)

    def ours(v):
        return a.ours(v, **params)

    def reference(v):
        return a.reference(v, **params)

    check_op(ours, reference, (x,), check_grads_f64=grads)


@pytest.mark.parametrize("a", ACTIVATIONS, ids=lambda a: a.name)
def test_activation_rejects_integers(a):
    with pytest.raises(TypeError, match="float32 or float64"):
        a.ours(jnp.arange(3))


@pytest.mark.parametrize("name, params, match", [
    ("elu", {"alpha": float("inf")}, "alpha must be finite"),
    ("elu", {"alpha": float("nan")}, "alpha must be finite"),
    ("celu", {"alpha": 0.0}, "alpha must be != 0"),
    ("leaky_relu", {"negative_slope": float("-inf")}, "negative_slope must be finite"),
    ("hardtanh", {"min_val": 1.0, "max_val": -1.0}, r"min_val \(1.0\) must be <= max_val \(-1.0\)"),
    ("hardtanh", {"max_val": float("inf")}, "max_val must be finite"),
    ("softplus", {"beta": 0.0}, "beta must be != 0"),
    ("softplus", {"threshold": float("nan")}, "threshold must be finite"),
])
def test_bad_parameters_raise_before_the_call(name, params, match):
    x = jnp.ones(3, F32)
    with pytest.raises(ValueError, match=match):
        BY_NAME[name].ours(x, **params)
    with pytest.raises(ValueError, match=match):  # at trace time under jit as well
        jax.jit(lambda v: BY_NAME[name].ours(v, **params))(x)


def test_a_traced_parameter_is_a_clear_type_error():
    # the parameters are static (FFI attributes): a traced alpha cannot be one
    with pytest.raises(TypeError, match="alpha must be a Python float"):
        jax.jit(lambda v, al: kj.elu(v, al))(jnp.ones(3), 0.5)


def test_names_and_defaults_follow_jax_nn():
    """Every function takes jax.nn's arguments with jax.nn's defaults; extra keyword
    arguments (hard_tanh's min_val/max_val, softplus's beta/threshold) come after."""
    pairs = [(kj.relu6, jax.nn.relu6), (kj.sigmoid, jax.nn.sigmoid), (kj.gelu, jax.nn.gelu),
             (kj.silu, jax.nn.silu), (kj.swish, jax.nn.swish), (kj.mish, jax.nn.mish),
             (kj.elu, jax.nn.elu), (kj.celu, jax.nn.celu), (kj.leaky_relu, jax.nn.leaky_relu),
             (kj.hard_tanh, jax.nn.hard_tanh), (kj.hard_sigmoid, jax.nn.hard_sigmoid),
             (kj.hard_swish, jax.nn.hard_swish), (kj.hard_silu, jax.nn.hard_silu),
             (kj.softplus, jax.nn.softplus)]
    for ours, theirs in pairs:
        mine = [(n, p.default) for n, p in inspect.signature(ours).parameters.items()]
        ref = [(n, p.default) for n, p in inspect.signature(theirs).parameters.items()]
        assert mine[:len(ref)] == ref, (ours.__name__, mine, ref)
    assert kj.swish is kj.silu and kj.hard_silu is kj.hard_swish
    assert [n for n in inspect.signature(kj.hard_tanh).parameters] == ["x", "min_val", "max_val"]
    assert [n for n in inspect.signature(kj.softplus).parameters] == ["x", "beta", "threshold"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_defaults_match_jax_nn_softplus_beyond_the_threshold(dtype):
    # jax.nn.softplus has no linear cut-off: above threshold 20 the values differ by
    # log1p(exp(-x)) < 2.1e-9 (inside float64's tolerance relative to x >= 20), the
    # derivatives (1 vs sigmoid(x)) by exp(-x) < 2.1e-9 absolute
    x = jnp.asarray([-30.0, -5.0, 0.0, 5.0, 19.5, 20.5, 40.0], dtype)
    assert_close(kj.softplus(x), jax.nn.softplus(x))
    assert_close(jax.grad(lambda v: kj.softplus(v).sum())(x), jax.grad(lambda v: jax.nn.softplus(v).sum())(x),
                 atol=max(2.1e-9, 2e-5 if dtype == F32 else 0.0))


def test_gelu_default_is_the_tanh_form():
    x = randn(3, (64,), F64, scale=3.0)
    assert_close(kj.gelu(x), kj.gelu(x, approximate=True))
    assert np.max(np.abs(np.asarray(kj.gelu(x) - kj.gelu(x, approximate=False)))) > 1e-5


def test_value_and_grad_of_a_chain_under_jit():
    # every activation in one jitted loss: the custom_vjp backward targets compose
    x = randn(5, (4, 6), F64)

    def loss(fns, v):
        for f in fns:
            v = f(v)
        return jnp.sum(v * v)

    ours = [a.ours for a in ACTIVATIONS]
    theirs = [a.reference for a in ACTIVATIONS]
    val, g = jax.jit(jax.value_and_grad(lambda v: loss(ours, v)))(x)
    val_r, g_r = jax.value_and_grad(lambda v: loss(theirs, v))(x)
    assert_close(val, val_r)
    assert_close(g, g_r)
