"""PyTorch's own OpInfo sample inputs (torch.testing._internal.common_methods_invocations
.op_db) run through pykernels.torch.functional against torch: outputs and the gradients of
every input that requires grad must match.

OPS maps an op_db name to our function and to an ``adapt(sample)`` hook that returns
``(args, kwargs)`` to run, or a string: the documented reason why pykernels refuses or
cannot match that input (the sample is then skipped with that reason). Every op must run
at least one sample per dtype (test_some_samples_run). To add an op, add a row to OPS.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import pytest
import torch

from pykernels.torch import functional as F

common_methods_invocations = pytest.importorskip(
    "torch.testing._internal.common_methods_invocations")


def _torch_math_sdpa():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel(SDPBackend.MATH)


def _adapt_sdpa(sample) -> Union[str, tuple]:
    kwargs = dict(sample.kwargs)
    if kwargs.get("dropout_p", 0.0) > 0:
        return ("dropout_p > 0: pykernels draws its own Philox mask (pykernels' dropout bits, "
                "not torch's RNG), so the outputs differ by design; the dropout contract is "
                "tested in test_scaled_dot_product_attention.py")
    mask = kwargs.get("attn_mask")
    if mask is not None and mask.is_floating_point() and mask.requires_grad:
        # Refused with NotImplementedError (no mask gradient in the C ABI): check the
        # refusal, then compare everything else with the mask detached.
        with pytest.raises(NotImplementedError):
            F.scaled_dot_product_attention(sample.input, *sample.args, **kwargs)
        kwargs["attn_mask"] = mask.detach()
    return tuple(sample.args), kwargs


@dataclass(frozen=True)
class Op:
    ours: Callable
    adapt: Callable = lambda sample: (tuple(sample.args), dict(sample.kwargs))
    reference_context: Optional[Callable] = None  # e.g. torch's math backend
    dtypes: tuple = (torch.float64, torch.float32)
    tol: dict = field(default_factory=lambda: {torch.float64: dict(rtol=1e-7, atol=1e-7),
                                               torch.float32: dict(rtol=1e-4, atol=1e-4)})


OPS = {
    "nn.functional.scaled_dot_product_attention": Op(
        ours=F.scaled_dot_product_attention, adapt=_adapt_sdpa,
        reference_context=_torch_math_sdpa),
}


def _samples():
    """(id, op_db entry, Op, dtype, sample index) for every sample of every op in OPS."""
    params = []
    for info in common_methods_invocations.op_db:
        if info.name not in OPS:
            continue
        op = OPS[info.name]
        for dtype in op.dtypes:
            n = sum(1 for _ in info.sample_inputs("cpu", dtype, requires_grad=True))
            for i in range(n):
                tag = info.name + (f".{info.variant_test_name}" if info.variant_test_name else "")
                params.append(pytest.param(info, op, dtype, i,
                                           id=f"{tag}-{str(dtype)[6:]}-{i}"))
    return params


SAMPLES = _samples()


def _sample(info, dtype, index):
    torch.manual_seed(index)
    for i, s in enumerate(info.sample_inputs("cpu", dtype, requires_grad=True)):
        if i == index:
            return s
    raise IndexError(index)


def _tensors(x):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for y in x:
            yield from _tensors(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _tensors(y)


def _run(info, op, dtype, index):
    """None if the sample ran and matched; the skip reason otherwise."""
    sample = _sample(info, dtype, index)
    adapted = op.adapt(sample)
    if isinstance(adapted, str):
        return adapted
    args, kwargs = adapted
    ours = op.ours(sample.input, *args, **kwargs)
    ctx = op.reference_context or torch.enable_grad
    with ctx():
        want = info.op(sample.input, *args, **kwargs)
    tol = op.tol[dtype]
    torch.testing.assert_close(ours, want, **tol)
    inputs = [t for t in _tensors((sample.input, args, kwargs)) if t.requires_grad]
    outs = [t for t in _tensors(ours) if t.requires_grad]
    if not inputs or not outs:
        return None
    gens = [torch.randn_like(t) for t in _tensors(want)]
    got = torch.autograd.grad(list(_tensors(ours)), inputs, gens, allow_unused=True)
    with ctx():
        ref = torch.autograd.grad(list(_tensors(want)), inputs, gens, allow_unused=True)
    for a, b, t in zip(got, ref, inputs):
        a = torch.zeros_like(t) if a is None else a
        b = torch.zeros_like(t) if b is None else b
        torch.testing.assert_close(a, b, **tol)
    return None


@pytest.mark.parametrize("info,op,dtype,index", SAMPLES)
def test_op_info_sample(info, op, dtype, index):
    reason = _run(info, op, dtype, index)
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.parametrize("name", sorted(OPS))
def test_some_samples_run(name):
    """Every op in OPS has op_db samples, and not all of them are skipped, per dtype (a
    table row whose samples are all refused tests nothing: that fails here)."""
    infos = [i for i in common_methods_invocations.op_db if i.name == name]
    assert infos, f"{name} is not in torch's op_db"
    for dtype in OPS[name].dtypes:
        counts = [sum(1 for _ in info.sample_inputs("cpu", dtype, requires_grad=True))
                  for info in infos]
        assert any(_run(info, OPS[name], dtype, i) is None
                   for info, n in zip(infos, counts) for i in range(n)), \
            f"no OpInfo sample of {name} ran in {dtype} (all skipped)"
