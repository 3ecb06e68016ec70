"""pykernels.torch mse_loss: parity with torch, gradcheck, opcheck."""
import pytest
import torch

from _helpers import LAYOUTS, strided, tol
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import mse_loss as ops

DTYPES = [torch.float32, torch.float64]
REDUCTIONS = ["none", "mean", "sum"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_parity_forward_backward(dtype, layout, reduction):
    shape = tuple(torch.randint(1, 7, (2,)).tolist())
    x = strided(shape, dtype, layout, requires_grad=True)
    t = strided(shape, dtype, "transposed", requires_grad=True)
    loss = F.mse_loss(x, t, reduction=reduction)
    ref = torch.nn.functional.mse_loss(x, t, reduction=reduction)
    assert loss.shape == ref.shape
    torch.testing.assert_close(loss, ref, **tol(dtype))
    g = strided(ref.shape, dtype, "transposed") if reduction == "none" else torch.tensor(
        1.7, dtype=dtype)
    for a, b in zip(torch.autograd.grad(loss, (x, t), g), torch.autograd.grad(ref, (x, t), g)):
        torch.testing.assert_close(a, b, **tol(dtype))


def test_legacy_arguments_like_torch():
    x, t = torch.randn(3, 4), torch.randn(3, 4)
    for kwargs in [dict(size_average=False), dict(reduce=False), dict(size_average=True)]:
        torch.testing.assert_close(F.mse_loss(x, t, **kwargs),
                                   torch.nn.functional.mse_loss(x, t, **kwargs))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck(reduction):
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), (x, t))
    assert torch.autograd.gradcheck(A.MSELossFunction.apply, (x, t, reduction))


def test_target_only_grad():
    x = torch.randn(5, dtype=torch.float64)
    t = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (gt,) = torch.autograd.grad(F.mse_loss(x, t), t)
    torch.testing.assert_close(gt, -2 * (x - t.detach()) / 5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_opcheck(reduction):
    x = strided((4, 3), torch.float64, "transposed", requires_grad=True)
    t = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(ops.mse_loss, (x, t, reduction))
    g = torch.randn(4, 3, dtype=torch.float64) if reduction == "none" else torch.tensor(
        0.5, dtype=torch.float64)
    for needs in [(True, False), (False, True), (True, True)]:
        torch.library.opcheck(ops.mse_loss_backward, (g, x.detach(), t.detach(), reduction, *needs))
