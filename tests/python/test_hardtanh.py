"""pykernels hardtanh against torch.nn.functional.hardtanh: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=hardtanh"""
import copy

import pytest

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


def reference(x, min_val=-1.0, max_val=1.0):
    """reference(x, min_val, max_val), differentiable: torch's hardtanh (see _Hardtanh)."""
    return _Hardtanh.apply(x, min_val, max_val)



SUITE = ElementwiseSuite("hardtanh", reference, bad_scalars={"min_val": [1.5]})
SUITE.tests(globals())


# hardtanh alone: the exact kinks at min_val and max_val, forward and backward against torch
# (the reference above), float32 and float64;
# and inplace=True trains as torch's in-place hardtanh does (functional and nn, with
# convert()).
def test_hardtanh_dense_range_matches_torch():
    from pykernels.torch import functional as F

    x0 = torch.cat([torch.linspace(-4, 4, 20001), torch.tensor([-1.0, 1.0, -2.0, 2.5, 0.5, -0.5, 0.0, -0.0])])
    for params in [(), (-2.0, 2.5), (0.5, 0.5), (-0.5, 0.5)]:
        for dtype, tol in ((torch.float32, dict(rtol=0, atol=0)), (torch.float64, dict(rtol=1e-12, atol=1e-15))):
            x = x0.to(dtype).requires_grad_()
            y, want = F.hardtanh(x, *params), reference(x, *params)
            torch.testing.assert_close(y, want, equal_nan=True, **tol)
            num = ~want.isnan()
            assert torch.equal(y[num].signbit(), want[num].signbit()) or dtype == torch.float32 and False
            gy = torch.randn_like(y)
            (g,) = torch.autograd.grad(y, x, gy)
            (gwant,) = torch.autograd.grad(want, x, gy)
            torch.testing.assert_close(g, gwant, equal_nan=True, **tol)


def test_hardtanh_inplace_trains_as_torch():
    import pykernels.torch as pkt
    from pykernels.torch import functional as F

    torch.manual_seed(0)
    for params in [(), (-2.0, 2.5), (0.5, 0.5), (-0.5, 0.5)]:
        a = (torch.randn(6, 7, dtype=torch.float64) * 4).requires_grad_()
        a_ref = a.detach().clone().requires_grad_()
        b, b_ref = a * 1, a_ref * 1
        out = F.hardtanh(b, *params, inplace=True)
        assert out is b
        torch.nn.functional.hardtanh(b_ref, *params, inplace=True)
        torch.testing.assert_close(b, b_ref)
        gy = torch.randn(6, 7, dtype=torch.float64)
        (b * gy).sum().backward()
        (b_ref * gy).sum().backward()
        torch.testing.assert_close(a.grad, a_ref.grad)
    # the nn twin, reached through convert(), with inplace=True
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Hardtanh(-2.0, 2.5, inplace=True))
    twin = copy.deepcopy(model)
    report = pkt.convert(twin)
    assert [(c.layer, c.replaced) for c in report] == [("Linear", True), ("Hardtanh", True)]
    assert type(twin[1]).__bases__ == (torch.nn.Hardtanh,) and type(twin[1]).__name__ == "Hardtanh"
    x = torch.randn(3, 5)
    y, y_ref = twin(x), model(x)
    torch.testing.assert_close(y, y_ref)
    y.square().sum().backward()
    y_ref.square().sum().backward()
    torch.testing.assert_close(twin[0].weight.grad, model[0].weight.grad)


def test_hardtanh_min_above_max_refused_as_torch():
    import pykernels
    from pykernels.torch import functional as F

    x = torch.randn(4)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        torch.nn.functional.hardtanh(x, 2.0, 1.0)
    # refused in the C entry (for every caller): KernelError, a RuntimeError, not
    # torch's ValueError; the message names min_val whichever bound was moved
    for lo, hi in ((2.0, 1.0), (-1.0, -1.5)):
        with pytest.raises(pykernels.KernelError, match="kn_hardtanh_forward: min_val: expected a value <= max_val"):
            F.hardtanh(x, lo, hi)
    with pytest.raises(pykernels.KernelError, match="min_val"):
        pykernels.hardtanh(x.numpy(), 2.0, 1.0)
    # nn: torch's own constructor refuses min_val >= max_val (an assert), inherited
    from pykernels.torch import nn as knn
    with pytest.raises(AssertionError):
        knn.Hardtanh(1.0, 1.0)
