"""pykernels.torch linear: parity with torch, gradcheck, opcheck."""
import pytest
import torch

from _helpers import LAYOUTS, strided, tol
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import linear as ops

DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bias", [True, False])
def test_parity_forward_backward(dtype, layout, bias):
    n, k, m = torch.randint(1, 9, (3,)).tolist()
    x = strided((n, k), dtype, layout, requires_grad=True)
    w = strided((m, k), dtype, "transposed" if layout == "contiguous" else layout, requires_grad=True)
    b = strided((m,), dtype, layout, requires_grad=True) if bias else None
    y = F.linear(x, w, b)
    ref = torch.nn.functional.linear(x, w, b)
    torch.testing.assert_close(y, ref, **tol(dtype))
    gy = strided((n, m), dtype, "transposed")  # non-contiguous grad_output
    params = [x, w] + ([b] if bias else [])
    got = torch.autograd.grad(y, params, gy)
    want = torch.autograd.grad(ref, params, gy)
    for g, r in zip(got, want):
        torch.testing.assert_close(g, r, **tol(dtype))


@pytest.mark.parametrize("shape", [(5,), (2, 3, 5), (2, 1, 3, 5)])
def test_leading_dims_like_torch(shape):
    x = strided(shape, torch.float64, "sliced", requires_grad=True)
    w = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    y = F.linear(x, w)
    ref = torch.nn.functional.linear(x, w)
    assert y.shape == ref.shape
    torch.testing.assert_close(y, ref)
    gy = torch.randn_like(ref)
    for g, r in zip(torch.autograd.grad(y, (x, w), gy), torch.autograd.grad(ref, (x, w), gy)):
        torch.testing.assert_close(g, r)


def test_only_needed_grads_computed():
    x = torch.randn(3, 4, dtype=torch.float64)
    w = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    y = F.linear(x, w)
    (gw,) = torch.autograd.grad(y.sum(), w)
    torch.testing.assert_close(gw, torch.ones(3, 2, dtype=torch.float64).T @ x)
    assert x.grad is None


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(bias):
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True) if bias else None
    assert torch.autograd.gradcheck(F.linear, (x, w, b))
    assert torch.autograd.gradcheck(A.LinearFunction.apply, (x, w, b))


def test_autograd_function_parity():
    x = torch.randn(4, 3, requires_grad=True)
    w = torch.randn(2, 3, requires_grad=True)
    y = A.LinearFunction.apply(x, w)
    ref = torch.nn.functional.linear(x, w)
    torch.testing.assert_close(y, ref)
    for g, r in zip(torch.autograd.grad(y.sum(), (x, w)), torch.autograd.grad(ref.sum(), (x, w))):
        torch.testing.assert_close(g, r)


def test_opcheck_linear():
    for dtype in DTYPES:
        x = strided((5, 3), dtype, "transposed", requires_grad=True)
        w = torch.randn(4, 3, dtype=dtype, requires_grad=True)
        b = torch.randn(4, dtype=dtype, requires_grad=True)
        torch.library.opcheck(ops.linear, (x, w, b))
        torch.library.opcheck(ops.linear, (x.detach(), w.detach(), None))


@pytest.mark.parametrize("needs", [(True, True, True), (True, False, False), (False, True, False),
                                   (False, False, True)])
def test_opcheck_linear_backward(needs):
    dy = strided((5, 4), torch.float64, "transposed")
    x, w = torch.randn(5, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    torch.library.opcheck(ops.linear_backward, (dy, x, w, *needs))
    dx, dw, db = ops.linear_backward(dy, x if needs[1] else None, w if needs[0] else None, *needs)
    assert [t.numel() > 0 for t in (dx, dw, db)] == list(needs)
    if needs[0]:
        torch.testing.assert_close(dx, dy @ w)
