"""pykernels.torch leaky_relu: parity with torch at several slopes (strided inputs and
grad_outputs), in place, gradcheck, opcheck, torch.compile, no saved tensors without
grad, nn.LeakyReLU, the NumPy path, errors (shared checks: _activations.py).
Run alone: make check OP=leaky_relu"""
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
from pykernels.torch.ops import leaky_relu as ops

# name -> (ours, torch's), each a function of one tensor
OPS = {
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu_0.3": (lambda t: F.leaky_relu(t, 0.3), lambda t: TF.leaky_relu(t, 0.3)),
    "leaky_relu_neg": (lambda t: F.leaky_relu(t, negative_slope=-1.5),
                       lambda t: TF.leaky_relu(t, negative_slope=-1.5)),
}
FUNCTIONS = {"leaky_relu": lambda t: A.LeakyReLUFunction.apply(t, 0.2)}
CALLS = dict(**{k: v[0] for k, v in OPS.items()}, **{k + "_Function": v for k, v in FUNCTIONS.items()})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_parity_forward_backward(name, layout, dtype):
    check_parity(*OPS[name], layout, dtype)


def test_large_magnitudes_and_specials():
    check_specials(*OPS["leaky_relu"])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradcheck(name):
    check_gradcheck(OPS[name][0], FUNCTIONS[name])


def test_gradcheck_strided_and_slopes():
    x = strided((4, 3), torch.float64, "transposed")
    x = (x + 0.1 * x.sign()).requires_grad_()
    for slope in [0.0, -0.7, 2.0]:
        assert torch.autograd.gradcheck(lambda t: F.leaky_relu(t, slope), (x,))


def test_leaky_relu_inplace_like_torch():
    base = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    a, b = base * 2, base * 2
    ya = F.leaky_relu(a, 0.1, inplace=True)
    yb = TF.leaky_relu(b, 0.1, inplace=True)
    assert ya is a
    torch.testing.assert_close(ya, yb)
    torch.testing.assert_close(torch.autograd.grad((ya * ya).sum(), base)[0],
                               torch.autograd.grad((yb * yb).sum(), base)[0])
    # slope 0 in place: backward from the result is still exact
    a, b = base * 1, base * 1
    ga = torch.autograd.grad(F.leaky_relu(a, 0.0, inplace=True).sum(), base)[0]
    gb = torch.autograd.grad(TF.leaky_relu(b, 0.0, inplace=True).sum(), base)[0]
    torch.testing.assert_close(ga, gb)


def test_leaky_relu_inplace_negative_slope_backward_raises_like_torch():
    base = torch.randn(6, requires_grad=True)
    with pytest.raises(RuntimeError, match="negative slope"):
        TF.leaky_relu(base * 1, -0.5, inplace=True).sum().backward()
    with pytest.raises(RuntimeError, match="negative slope"):
        F.leaky_relu(base * 1, -0.5, inplace=True).sum().backward()
    # forward alone (no backward) is fine, as in torch
    with torch.no_grad():
        t = torch.randn(6)
        torch.testing.assert_close(F.leaky_relu(t.clone(), -0.5, inplace=True), TF.leaky_relu(t, -0.5))


def test_leaky_relu_inplace_on_leaf_raises_like_torch():
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.leaky_relu(x, inplace=True)


def test_opcheck():
    for dtype in DTYPES:
        x = strided((3, 4), dtype, "transposed", requires_grad=True)
        g = strided((3, 4), dtype, "sliced")
        torch.library.opcheck(ops.leaky_relu, (x, 0.2))
        torch.library.opcheck(ops.leaky_relu, (x, 0.2, True))
        torch.library.opcheck(ops.leaky_relu_backward, (g, x.detach(), -0.2, False))
        torch.library.opcheck(ops.leaky_relu_backward, (g, x.detach(), 0.2, True))


def test_compile_fullgraph_matches_eager():
    check_compile(lambda x: (F.leaky_relu(x, 0.1) * x).sum())


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(name, mode):
    check_nothing_saved(CALLS[name], mode)


MODULES = [
    (knn.LeakyReLU, torch.nn.LeakyReLU, {"negative_slope": 0.2}),
    (knn.LeakyReLU, torch.nn.LeakyReLU, {"negative_slope": 0.2, "inplace": True}),
]


@pytest.mark.parametrize("ours_cls,ref_cls,kwargs", MODULES)
def test_nn_modules_like_torch(ours_cls, ref_cls, kwargs):
    check_module(ours_cls, ref_cls, kwargs)


def test_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6))[:, ::2].T  # strided
    dy = rng.standard_normal((3, 5))
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    want = TF.leaky_relu(xt, 0.3)
    y = pk.leaky_relu(x, 0.3)
    dx = pk.leaky_relu_backward(dy, x, 0.3)
    np.testing.assert_array_equal(pk.leaky_relu_backward(dy, y, 0.3, True), dx)
    np.testing.assert_allclose(y, want.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(dx, torch.autograd.grad(want, xt, torch.from_numpy(dy))[0].numpy(),
                               rtol=1e-13, atol=1e-15)
    # out= in place, float32
    x32 = x.astype(np.float32)
    y32 = pk.leaky_relu(x32.copy())
    assert y32.dtype == np.float32
    z = x32.copy()
    assert pk.leaky_relu(z, out=z) is z
    np.testing.assert_array_equal(z, y32)


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(pk.KernelError, match="negative_slope"):
        F.leaky_relu(x, float("nan"))
