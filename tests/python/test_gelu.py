"""pykernels.torch gelu, both forms: parity with torch (strided inputs and
grad_outputs), gradcheck, opcheck, torch.compile, no saved tensors without grad,
nn.GELU, the NumPy path, errors (shared checks: _activations.py).
Run alone: make check OP=gelu"""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _activations import (DTYPES, TF, check_compile, check_gradcheck, check_module,
                          check_nothing_saved, check_parity, check_specials)
from _helpers import LAYOUTS, strided
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import gelu as ops

# name -> (ours, torch's), each a function of one tensor
OPS = {
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh")),
}
FUNCTIONS = {
    "gelu": A.GELUFunction.apply,
    "gelu_tanh": lambda t: A.GELUFunction.apply(t, "tanh"),
}
CALLS = dict(**{k: v[0] for k, v in OPS.items()}, **{k + "_Function": v for k, v in FUNCTIONS.items()})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_parity_forward_backward(name, layout, dtype):
    check_parity(*OPS[name], layout, dtype)


def test_large_magnitudes_and_specials():
    for name in ["gelu", "gelu_tanh"]:
        check_specials(*OPS[name])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradcheck(name):
    check_gradcheck(OPS[name][0], FUNCTIONS[name])


def test_opcheck():
    for dtype in DTYPES:
        x = strided((3, 4), dtype, "transposed", requires_grad=True)
        g = strided((3, 4), dtype, "sliced")
        for approximate in ["none", "tanh"]:
            torch.library.opcheck(ops.gelu, (x, approximate))
            torch.library.opcheck(ops.gelu_backward, (g, x.detach(), approximate))


def test_compile_fullgraph_matches_eager():
    check_compile(lambda x: (F.gelu(x) * F.gelu(x, approximate="tanh")).sum())


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(name, mode):
    check_nothing_saved(CALLS[name], mode)


MODULES = [
    (knn.GELU, torch.nn.GELU, {}),
    (knn.GELU, torch.nn.GELU, {"approximate": "tanh"}),
]


@pytest.mark.parametrize("ours_cls,ref_cls,kwargs", MODULES)
def test_nn_modules_like_torch(ours_cls, ref_cls, kwargs):
    check_module(ours_cls, ref_cls, kwargs)


def test_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6))[:, ::2].T  # strided
    dy = rng.standard_normal((3, 5))
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    for approximate in ["none", "tanh"]:
        want = TF.gelu(xt, approximate=approximate)
        np.testing.assert_allclose(pk.gelu(x, approximate), want.detach().numpy(), rtol=1e-13)
        np.testing.assert_allclose(pk.gelu_backward(dy, x, approximate),
                                   torch.autograd.grad(want, xt, torch.from_numpy(dy))[0].numpy(),
                                   rtol=1e-12, atol=1e-14)


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="approximate"):
        pk.gelu(x.numpy(), "fast")
    with pytest.raises(pk.ShapeError):
        ops.gelu_backward(torch.randn(3, 4), torch.randn(2, 4), "none")
