"""pykernels.torch sigmoid: parity with torch (strided inputs and grad_outputs),
gradcheck, opcheck, torch.compile, no saved tensors without grad, nn.Sigmoid, the
NumPy path, errors (shared checks: _activations.py). Run alone: make check OP=sigmoid"""
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
from pykernels.torch.ops import sigmoid as ops

# name -> (ours, torch's), each a function of one tensor
OPS = {"sigmoid": (F.sigmoid, torch.sigmoid)}
FUNCTIONS = {"sigmoid": A.SigmoidFunction.apply}
CALLS = dict(**{k: v[0] for k, v in OPS.items()}, **{k + "_Function": v for k, v in FUNCTIONS.items()})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_parity_forward_backward(name, layout, dtype):
    check_parity(*OPS[name], layout, dtype)


def test_large_magnitudes_and_specials():
    check_specials(*OPS["sigmoid"])
    # sigmoid keeps its relative precision far out on the negative side (float: expf(90)
    # overflows in the naive formula)
    torch.testing.assert_close(F.sigmoid(torch.tensor([-90.0]))[0].double(),
                               torch.exp(torch.tensor(-90.0, dtype=torch.float64)), rtol=1e-4, atol=0)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradcheck(name):
    check_gradcheck(OPS[name][0], FUNCTIONS[name])


def test_opcheck():
    for dtype in DTYPES:
        x = strided((3, 4), dtype, "transposed", requires_grad=True)
        g = strided((3, 4), dtype, "sliced")
        y = torch.sigmoid(x.detach())
        torch.library.opcheck(ops.sigmoid, (x,))
        torch.library.opcheck(ops.sigmoid_backward, (g, y))


def test_compile_fullgraph_matches_eager():
    check_compile(lambda x: (F.sigmoid(x) * x).sum())


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(name, mode):
    check_nothing_saved(CALLS[name], mode)


@pytest.mark.parametrize("ours_cls,ref_cls,kwargs", [(knn.Sigmoid, torch.nn.Sigmoid, {})])
def test_nn_modules_like_torch(ours_cls, ref_cls, kwargs):
    check_module(ours_cls, ref_cls, kwargs)


def test_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6))[:, ::2].T  # strided
    dy = rng.standard_normal((3, 5))
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    want = torch.sigmoid(xt)
    y = pk.sigmoid(x)
    dx = pk.sigmoid_backward(dy, y)
    np.testing.assert_allclose(y, want.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(dx, torch.autograd.grad(want, xt, torch.from_numpy(dy))[0].numpy(),
                               rtol=1e-13, atol=1e-15)
    # out= in place, float32
    x32 = x.astype(np.float32)
    y32 = pk.sigmoid(x32.copy())
    assert y32.dtype == np.float32
    z = x32.copy()
    assert pk.sigmoid(z, out=z) is z
    np.testing.assert_array_equal(z, y32)


def test_errors():
    with pytest.raises(pk.ShapeError):
        ops.sigmoid_backward(torch.randn(3, 4), torch.randn(4, 3))
    with pytest.raises(TypeError):
        F.sigmoid(torch.ones(3, dtype=torch.int64))
    with pytest.raises(pk.ShapeError):
        pk.sigmoid(np.ones((2, 3)), out=np.empty((3, 2)))
