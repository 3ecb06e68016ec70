"""pykernels.torch relu: parity with torch (incl. in place), gradcheck, opcheck."""
import pytest
import torch

from _helpers import LAYOUTS, strided
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import relu as ops

DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("ndim", [1, 3])
def test_parity_forward_backward(dtype, layout, ndim):
    shape = tuple(torch.randint(1, 7, (ndim,)).tolist())
    x = strided(shape, dtype, layout, requires_grad=True)
    y, ref = F.relu(x), torch.nn.functional.relu(x)
    torch.testing.assert_close(y, ref, rtol=0, atol=0)
    gy = strided(shape, dtype, "transposed")
    torch.testing.assert_close(torch.autograd.grad(y, x, gy)[0],
                               torch.autograd.grad(ref, x, gy)[0], rtol=0, atol=0)


def test_inplace_like_torch():
    base = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    a, b = base * 2, base * 2
    ya = F.relu(a, inplace=True)
    yb = torch.nn.functional.relu(b, inplace=True)
    assert ya is a and ya.data_ptr() == a.data_ptr()
    torch.testing.assert_close(ya, yb)
    ga = torch.autograd.grad((ya * ya).sum(), base)[0]
    gb = torch.autograd.grad((yb * yb).sum(), base)[0]
    torch.testing.assert_close(ga, gb)


def test_inplace_on_leaf_requiring_grad_raises_like_torch():
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        torch.nn.functional.relu(x, inplace=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.relu(x, inplace=True)


def test_nan_propagates():
    x = torch.tensor([float("nan"), -1.0, 2.0])
    torch.testing.assert_close(F.relu(x), torch.relu(x), equal_nan=True)


def test_gradcheck():
    x = torch.randn(3, 4, dtype=torch.float64)
    x = (x + 0.1 * x.sign()).requires_grad_()  # keep away from the kink at 0
    assert torch.autograd.gradcheck(F.relu, (x,))
    assert torch.autograd.gradcheck(A.ReLUFunction.apply, (x,))


def test_opcheck():
    for dtype in DTYPES:
        x = strided((3, 4), dtype, "transposed", requires_grad=True)
        torch.library.opcheck(ops.relu, (x,))
        y = torch.relu(x.detach())
        torch.library.opcheck(ops.relu_backward, (strided((3, 4), dtype, "sliced"), y))
