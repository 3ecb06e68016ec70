"""pykernels hardsigmoid against torch.nn.functional.hardsigmoid: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=hardsigmoid"""
import copy

import torch

from _elementwise import ElementwiseSuite



class _Hardsigmoid(torch.autograd.Function):
    """torch's hardsigmoid, forward and backward, except that the float64 backward
    multiplies by 1/6 in double: torch's kernel multiplies by 1.0f / 6.0f, a float
    constant, for every dtype (float64 gradient 0.1666666716337204, 3e-8 relative
    off; measured on torch 2.13). pykernels computes in T, exactly."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.nn.functional.hardsigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = (x > -3) & (x < 3)  # open: 0 at the kinks and at NaN, as torch
        return torch.where(inside, grad * (1.0 / 6.0), torch.zeros_like(grad))


def reference(x):
    """reference(x), differentiable: torch's hardsigmoid (see _Hardsigmoid)."""
    return _Hardsigmoid.apply(x)



SUITE = ElementwiseSuite("hardsigmoid", reference, bad_scalars={})
SUITE.tests(globals())


# hardsigmoid alone: the exact kinks at -3 and 3 and their float neighbours, forward and backward against torch
# (the reference above), float32 and float64;
# and inplace=True trains as torch's in-place hardsigmoid does (functional and nn, with
# convert()).
def test_hardsigmoid_dense_range_matches_torch():
    from pykernels.torch import functional as F

    x0 = torch.cat([torch.linspace(-6, 6, 20001), torch.tensor([-3.0, 3.0, -2.9999998, -3.0000002, 2.9999998, 3.0000002, 0.0, -0.0])])
    for params in [()]:
        for dtype, tol in ((torch.float32, dict(rtol=2e-6, atol=1e-7)), (torch.float64, dict(rtol=1e-12, atol=1e-15))):
            x = x0.to(dtype).requires_grad_()
            y, want = F.hardsigmoid(x, *params), reference(x, *params)
            torch.testing.assert_close(y, want, equal_nan=True, **tol)
            num = ~want.isnan()
            assert torch.equal(y[num].signbit(), want[num].signbit()) or dtype == torch.float32 and False
            gy = torch.randn_like(y)
            (g,) = torch.autograd.grad(y, x, gy)
            (gwant,) = torch.autograd.grad(want, x, gy)
            torch.testing.assert_close(g, gwant, equal_nan=True, **tol)


def test_hardsigmoid_inplace_trains_as_torch():
    import pykernels.torch as pkt
    from pykernels.torch import functional as F

    torch.manual_seed(0)
    for params in [()]:
        a = (torch.randn(6, 7, dtype=torch.float64) * 4).requires_grad_()
        a_ref = a.detach().clone().requires_grad_()
        b, b_ref = a * 1, a_ref * 1
        out = F.hardsigmoid(b, *params, inplace=True)
        assert out is b
        torch.nn.functional.hardsigmoid(b_ref, *params, inplace=True)
        torch.testing.assert_close(b, b_ref)
        gy = torch.randn(6, 7, dtype=torch.float64)
        (b * gy).sum().backward()
        (b_ref * gy).sum().backward()
        torch.testing.assert_close(a.grad, a_ref.grad)
    # the nn twin, reached through convert(), with inplace=True
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Hardsigmoid(inplace=True))
    twin = copy.deepcopy(model)
    report = pkt.convert(twin)
    assert [(c.layer, c.replaced) for c in report] == [("Linear", True), ("Hardsigmoid", True)]
    assert type(twin[1]).__bases__ == (torch.nn.Hardsigmoid,) and type(twin[1]).__name__ == "Hardsigmoid"
    x = torch.randn(3, 5)
    y, y_ref = twin(x), model(x)
    torch.testing.assert_close(y, y_ref)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(twin[0].weight.grad, model[0].weight.grad)
