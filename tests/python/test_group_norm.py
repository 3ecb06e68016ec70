"""pykernels.torch group_norm: parity with torch for every option, non-contiguous inputs and
grad_output, gradcheck, opcheck, torch.compile, nothing saved without grad, nn.GroupNorm
(state_dict, convert), the NumPy path, bad inputs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pykernels as pk
import pykernels.torch as pkt
import pykernels.torch.nn as knn
from _helpers import LAYOUTS, strided
from _norm import (assert_compile_matches_eager, assert_forward_backward_close,
                   assert_module_like_torch, assert_nothing_saved_without_grad)
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import group_norm as ops

DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS + ["channels_last"])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("shape,groups", [((2, 6, 4, 5), 3), ((3, 4, 7), 2), ((2, 4), 4), ((1, 8, 2, 3, 2), 1)])
def test_parity_forward_backward(dtype, layout, affine, shape, groups):
    torch.manual_seed(hash((layout, affine, shape)) % 1000)
    if layout == "channels_last":
        if len(shape) != 4:
            pytest.skip("channels_last is 4-d")
        x = torch.randn(shape, dtype=dtype).to(memory_format=torch.channels_last).requires_grad_()
    else:
        x = strided(shape, dtype, layout, requires_grad=True)
    c = shape[1]
    w = strided((c,), dtype, layout if layout != "channels_last" else "contiguous", requires_grad=True) \
        if affine in ("both", "weight") else None
    b = torch.randn(c, dtype=dtype, requires_grad=True) if affine in ("both", "bias") else None
    y = F.group_norm(x, groups, w, b, eps=1e-3)
    # torch 2.13's backward of group_norm with a bias and no weight fails ("tensor does not
    # have a device"): compare with weight = ones there.
    w_ref = torch.ones(c, dtype=dtype) if w is None and b is not None else w
    ref = TF.group_norm(x, groups, w_ref, b, eps=1e-3)
    assert_forward_backward_close(y, ref, [x, w, b], dtype)


def test_mean_rstd_match_torch_native():
    x = torch.randn(3, 6, 4, 5, dtype=torch.float64)
    y, mean, rstd = ops.group_norm(x, 3, None, None, 1e-5)
    ry, rmean, rrstd = torch.ops.aten.native_group_norm(x, None, None, 3, 6, 20, 3, 1e-5)
    torch.testing.assert_close(y, ry)
    torch.testing.assert_close(mean, rmean)
    torch.testing.assert_close(rstd, rrstd)


@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck(affine):
    x = torch.randn(2, 4, 3, 2, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, dtype=torch.float64, requires_grad=True) if affine else None
    b = torch.randn(4, dtype=torch.float64, requires_grad=True) if affine else None
    assert torch.autograd.gradcheck(lambda *a: F.group_norm(a[0], 2, *a[1:]), (x, w, b))
    assert torch.autograd.gradcheck(lambda a, c, d: A.GroupNormFunction.apply(a, 2, c, d, 1e-5)[0], (x, w, b))


def test_opcheck():
    x = torch.randn(2, 6, 3, 3)
    w, b = torch.randn(6, requires_grad=True), torch.randn(6, requires_grad=True)
    torch.library.opcheck(ops.group_norm, (x, 3, w, b, 1e-5))
    torch.library.opcheck(ops.group_norm, (x.requires_grad_(), 2, None, None, 1e-3))
    _, mean, rstd = ops.group_norm(x.detach(), 3, w.detach(), None, 1e-5)
    g = torch.randn(2, 6, 3, 3)
    torch.library.opcheck(ops.group_norm_backward, (g, x.detach(), 3, w.detach(), mean, rstd, True, True, True))
    torch.library.opcheck(ops.group_norm_backward, (g, x.detach(), 3, None, mean, rstd, False, True, False))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), knn.GroupNorm(4, 8), torch.nn.ReLU(),
                                knn.GroupNorm(2, 8, affine=False))
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    assert_compile_matches_eager(model, x)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(mode):
    x = torch.randn(2, 4, 5, requires_grad=True)
    m = knn.GroupNorm(2, 4)
    calls = [lambda: F.group_norm(x, 2), lambda: m(x), lambda: A.GroupNormFunction.apply(x, 2)[0]]
    assert_nothing_saved_without_grad(calls, mode)


@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"eps": 0.1}])
def test_nn_module_like_torch(kwargs):
    torch.manual_seed(1)
    ref = torch.nn.GroupNorm(3, 6, **kwargs)
    ours = knn.GroupNorm(3, 6, **kwargs)
    assert type(ours).__bases__[0] is torch.nn.GroupNorm and repr(ours) == repr(ref)
    if ref.weight is not None:
        with torch.no_grad():
            ref.weight.uniform_(-1, 1)
            ref.bias.uniform_(-1, 1)
    ours.load_state_dict(ref.state_dict())
    ref2 = torch.nn.GroupNorm(3, 6, **kwargs)
    ref2.load_state_dict(ours.state_dict())
    assert_module_like_torch(ours, ref, ref2, torch.randn(2, 6, 4, 4, requires_grad=True))


def test_convert_switches_group_norm():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.GroupNorm(2, 4))
    x = torch.randn(2, 2, 5, 5)
    want = model(x)
    pkt.convert(model)
    assert type(model[1]) is knn.GroupNorm
    torch.testing.assert_close(model(x), want)


def test_numpy_path():
    x = np.random.randn(3, 4, 5, 2)[:, ::-1].transpose(0, 1, 3, 2)  # negative and transposed strides
    w, b = np.random.randn(4), np.random.randn(4)
    y, mean, rstd = pk.group_norm(x, 2, w, b, eps=1e-4)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    wt, bt = torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()
    ref = TF.group_norm(xt, 2, wt, bt, eps=1e-4)
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert mean.shape == (3, 2)
    g = np.random.randn(*x.shape)
    dx, dw, db = pk.group_norm_backward(g, x, 2, mean, rstd, w)
    rdx, rdw, rdb = torch.autograd.grad(ref, (xt, wt, bt), torch.from_numpy(g))
    for a, r in [(dx, rdx), (dw, rdw), (db, rdb)]:
        np.testing.assert_allclose(a, r.numpy(), rtol=1e-10, atol=1e-10)


def test_bad_inputs_raise():
    x = torch.randn(2, 6, 3)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(x, 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(x, 0)
    with pytest.raises(ValueError, match="at least 2"):
        F.group_norm(torch.randn(6), 2)
    with pytest.raises(ValueError, match="weight"):
        F.group_norm(x, 2, torch.randn(5))
    with pytest.raises(pk.KernelError, match="eps"):
        F.group_norm(x, 2, eps=float("inf"))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        pk.group_norm(x.numpy(), 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        ops.group_norm(x, 5, None, None, 1e-5)


def test_size_zero():
    x = torch.randn(0, 4, 3, requires_grad=True)
    w = torch.randn(4, requires_grad=True)
    y = F.group_norm(x, 2, w)
    assert y.shape == (0, 4, 3)
    (gw,) = torch.autograd.grad(y.sum(), w)
    assert torch.equal(gw, torch.zeros(4))
    _, mean, rstd = ops.group_norm(torch.randn(2, 4, 0), 2, None, None, 1e-5)
    _, rmean, rrstd = torch.ops.aten.native_group_norm(torch.randn(2, 4, 0), None, None, 2, 4, 0, 2, 1e-5)
    torch.testing.assert_close(mean, rmean, equal_nan=True)
    torch.testing.assert_close(rstd, rrstd, equal_nan=True)
