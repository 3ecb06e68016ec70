"""pykernels relu6 against torch.nn.functional.relu6: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=relu6"""
import copy

import torch

from _elementwise import ElementwiseSuite



class _Hardtanh(torch.autograd.Function):
    """torch's hardtanh forward, with the backward of torch's hardtanh_backward as
    derivatives.yaml, its scalar CPU loop and its CUDA kernel write it:
    (x <= min_val || x >= max_val) ? 0 : grad, which gives grad at NaN. torch's
    CPU SIMD loop gives 0 at NaN instead, so there a NaN's gradient depends on
    where it sits in the tensor (measured on torch 2.13); pykernels keeps the one
    select everywhere. Elsewhere the two agree bit for bit."""

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        return torch.nn.functional.hardtanh(x, min_val, max_val)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        return torch.where((x <= lo) | (x >= hi), torch.zeros_like(grad), grad), None, None


def reference(x):
    """reference(x), differentiable: torch's relu6 = hardtanh(x, 0, 6) (see _Hardtanh)."""
    return _Hardtanh.apply(x, 0.0, 6.0)



SUITE = ElementwiseSuite("relu6", reference, bad_scalars={})
SUITE.tests(globals())


# relu6 alone: the exact kinks at 0 and 6, forward and backward against torch
# (the reference above), float32 and float64;
# and inplace=True trains as torch's in-place relu6 does (functional and nn, with
# convert()).
def test_relu6_dense_range_matches_torch():
    from pykernels.torch import functional as F

    x0 = torch.cat([torch.linspace(-8, 8, 20001), torch.tensor([0.0, -0.0, 6.0, 5.9999995, 6.0000005, 1e-30])])
    for params in [()]:
        for dtype, tol in ((torch.float32, dict(rtol=0, atol=0)), (torch.float64, dict(rtol=1e-12, atol=1e-15))):
            x = x0.to(dtype).requires_grad_()
            y, want = F.relu6(x, *params), reference(x, *params)
            torch.testing.assert_close(y, want, equal_nan=True, **tol)
            num = ~want.isnan()
            assert torch.equal(y[num].signbit(), want[num].signbit()) or dtype == torch.float32 and False
            gy = torch.randn_like(y)
            (g,) = torch.autograd.grad(y, x, gy)
            (gwant,) = torch.autograd.grad(want, x, gy)
            torch.testing.assert_close(g, gwant, equal_nan=True, **tol)


def test_relu6_inplace_trains_as_torch():
    import pykernels.torch as pkt
    from pykernels.torch import functional as F

    torch.manual_seed(0)
    for params in [()]:
        a = (torch.randn(6, 7, dtype=torch.float64) * 4).requires_grad_()
        a_ref = a.detach().clone().requires_grad_()
        b, b_ref = a * 1, a_ref * 1
        out = F.relu6(b, *params, inplace=True)
        assert out is b
        torch.nn.functional.relu6(b_ref, *params, inplace=True)
        torch.testing.assert_close(b, b_ref)
        gy = torch.randn(6, 7, dtype=torch.float64)
        (b * gy).sum().backward()
        (b_ref * gy).sum().backward()
        torch.testing.assert_close(a.grad, a_ref.grad)
    # the nn twin, reached through convert(), with inplace=True
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU6(inplace=True))
    twin = copy.deepcopy(model)
    report = pkt.convert(twin)
    assert [(c.layer, c.replaced) for c in report] == [("Linear", True), ("ReLU6", True)]
    assert type(twin[1]).__bases__ == (torch.nn.ReLU6,) and type(twin[1]).__name__ == "ReLU6"
    x = torch.randn(3, 5)
    y, y_ref = twin(x), model(x)
    torch.testing.assert_close(y, y_ref)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(twin[0].weight.grad, model[0].weight.grad)
