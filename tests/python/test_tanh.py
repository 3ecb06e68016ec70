"""pykernels.torch tanh: parity with torch (strided inputs and grad_outputs),
gradcheck, opcheck, torch.compile, no saved tensors without grad, nn.Tanh, the NumPy
path, errors (shared checks: _activations.py). Run alone: make check OP=tanh"""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _activations import (DTYPES, check_compile, check_gradcheck, check_module, check_nothing_saved,
                          check_parity, check_specials)
from _helpers import LAYOUTS, strided
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import tanh as ops

# name -> (ours, torch's), each a function of one tensor
OPS = {"tanh": (F.tanh, torch.tanh)}
FUNCTIONS = {"tanh": A.TanhFunction.apply}
CALLS = dict(**{k: v[0] for k, v in OPS.items()}, **{k + "_Function": v for k, v in FUNCTIONS.items()})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_parity_forward_backward(name, layout, dtype):
    check_parity(*OPS[name], layout, dtype)


def test_large_magnitudes_and_specials():
    check_specials(*OPS["tanh"])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradcheck(name):
    check_gradcheck(OPS[name][0], FUNCTIONS[name])


def test_opcheck():
    for dtype in DTYPES:
        x = strided((3, 4), dtype, "transposed", requires_grad=True)
        g = strided((3, 4), dtype, "sliced")
        torch.library.opcheck(ops.tanh, (x,))
        torch.library.opcheck(ops.tanh_backward, (g, torch.tanh(x.detach())))


def test_compile_fullgraph_matches_eager():
    check_compile(lambda x: (F.tanh(x) * x).sum())


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(name, mode):
    check_nothing_saved(CALLS[name], mode)


@pytest.mark.parametrize("ours_cls,ref_cls,kwargs", [(knn.Tanh, torch.nn.Tanh, {})])
def test_nn_modules_like_torch(ours_cls, ref_cls, kwargs):
    check_module(ours_cls, ref_cls, kwargs)


def test_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6))[:, ::2].T  # strided
    dy = rng.standard_normal((3, 5))
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    want = torch.tanh(xt)
    y = pk.tanh(x)
    dx = pk.tanh_backward(dy, y)
    np.testing.assert_allclose(y, want.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(dx, torch.autograd.grad(want, xt, torch.from_numpy(dy))[0].numpy(),
                               rtol=1e-13, atol=1e-15)
    # out= in place, float32
    x32 = x.astype(np.float32)
    y32 = pk.tanh(x32.copy())
    assert y32.dtype == np.float32
    z = x32.copy()
    assert pk.tanh(z, out=z) is z
    np.testing.assert_array_equal(z, y32)


def test_errors():
    with pytest.raises(TypeError):
        pk.tanh(np.ones(3, dtype=np.float16))
    with pytest.raises(TypeError):
        pk.tanh([1.0, 2.0])
