"""pykernels celu against torch.nn.functional.celu: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=celu"""
import torch

from _elementwise import ElementwiseSuite

reference = torch.nn.functional.celu  # reference(x, *params), differentiable


SUITE = ElementwiseSuite("celu", reference, bad_scalars={"alpha": [0]})
SUITE.tests(globals())


# celu alone (by the new-user trial of docs/adding-an-operator.md): the tails,
# where expm1 must not cancel, and alpha < 0, against torch.
def test_celu_wide_range_and_negative_alpha_match_torch():
    from pykernels.torch import functional as F

    x = torch.cat([torch.linspace(-200, 20, 20001), -torch.logspace(-30, 0, 301),
                   torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan")])])
    for alpha in (1.0, 0.1, 3.0, -1.0, -0.5):
        got, want = F.celu(x, alpha), torch.nn.functional.celu(x, alpha)
        torch.testing.assert_close(got, want, rtol=8 * 2**-24, atol=0, equal_nan=True)
        num = ~want.isnan()
        assert torch.equal(got[num].signbit(), want[num].signbit())  # celu(-0) = -0, as torch


def test_celu_inplace_trains_as_torch():
    """inplace=True with a gradient: the backward gets the input as it was (torch's
    in-place celu_ trains too)."""
    from pykernels.torch import functional as F

    torch.manual_seed(0)
    for alpha in (1.0, 0.5, 2.0):
        a = (torch.randn(6, 7, dtype=torch.float64) * 4).requires_grad_()
        a_ref = a.detach().clone().requires_grad_()
        b, b_ref = a * 1, a_ref * 1
        out = F.celu(b, alpha, inplace=True)
        assert out is b
        torch.nn.functional.celu(b_ref, alpha, inplace=True)
        torch.testing.assert_close(b, b_ref)
        gy = torch.randn(6, 7, dtype=torch.float64)
        (b * gy).sum().backward()
        (b_ref * gy).sum().backward()
        torch.testing.assert_close(a.grad, a_ref.grad)
