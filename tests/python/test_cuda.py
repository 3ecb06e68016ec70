"""CUDA parity: runs where a GPU is present and libkernels was built with CUDA."""
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import strided, tol
from pykernels.torch import functional as F

pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and pk.has_cuda()),
                                reason="needs a CUDA device and a CUDA build of libkernels")


def _grads(out, inputs, g):
    return torch.autograd.grad(out, inputs, g)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
def test_linear_relu_cuda(dtype, layout):
    x = strided((33, 17), dtype, layout, device="cuda", requires_grad=True)
    w = strided((9, 17), dtype, layout, device="cuda", requires_grad=True)
    b = torch.randn(9, dtype=dtype, device="cuda", requires_grad=True)
    y = F.relu(F.linear(x, w, b))
    ref = torch.relu(torch.nn.functional.linear(x, w, b))
    t = dict(rtol=2e-3, atol=2e-3) if dtype == torch.float32 else tol(dtype)  # TF32 allowed
    torch.testing.assert_close(y, ref, **t)
    g = strided((33, 9), dtype, "transposed", device="cuda")
    for a, r in zip(_grads(y, (x, w, b), g), _grads(ref, (x, w, b), g)):
        torch.testing.assert_close(a, r, **t)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_mse_loss_cuda(reduction):
    x = strided((40, 7), torch.float64, "transposed", device="cuda", requires_grad=True)
    t = torch.randn(40, 7, dtype=torch.float64, device="cuda", requires_grad=True)
    loss = F.mse_loss(x, t, reduction=reduction)
    ref = torch.nn.functional.mse_loss(x, t, reduction=reduction)
    torch.testing.assert_close(loss, ref)
    g = torch.randn_like(ref)
    for a, r in zip(_grads(loss, (x, t), g), _grads(ref, (x, t), g)):
        torch.testing.assert_close(a, r)


def test_cuda_side_stream_and_compile():
    torch.manual_seed(0)
    model = torch.nn.Sequential(knn.Linear(8, 16), knn.ReLU(), knn.Linear(16, 4)).cuda()
    x = torch.randn(10, 8, device="cuda")
    eager = model(x)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        on_side = model(x)
    torch.cuda.current_stream().wait_stream(s)
    torch.testing.assert_close(on_side, eager)
    compiled = torch.compile(model, fullgraph=True)
    torch.testing.assert_close(compiled(x), eager, rtol=1e-5, atol=1e-5)


def test_mixed_devices_cuda():
    with pytest.raises(pk.KernelError) as e:
        F.linear(torch.ones(2, 3, device="cuda"), torch.ones(4, 3))
    assert e.value.status == "KN_ERR_INVALID_ARGUMENT"
