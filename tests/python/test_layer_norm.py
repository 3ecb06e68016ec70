"""pykernels.torch layer_norm: parity with torch for every option, non-contiguous inputs and
grad_output, gradcheck, opcheck, torch.compile, nothing saved without grad, nn.LayerNorm
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
from pykernels.torch.ops import layer_norm as ops

DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("shape,norm", [((4, 7), (7,)), ((2, 3, 5), (3, 5)), ((2, 3, 4, 5), (3, 4, 5)),
                                        ((6,), (6,)), ((3, 1), (1,))])
def test_parity_forward_backward(dtype, layout, affine, shape, norm):
    torch.manual_seed(hash((layout, affine, shape)) % 1000)
    x = strided(shape, dtype, layout, requires_grad=True)
    w = strided(norm, dtype, layout, requires_grad=True) if affine in ("both", "weight") else None
    b = strided(norm, dtype, layout, requires_grad=True) if affine in ("both", "bias") else None
    y = F.layer_norm(x, norm, w, b, eps=1e-3)
    ref = TF.layer_norm(x, norm, w, b, eps=1e-3)
    assert_forward_backward_close(y, ref, [x, w, b], dtype)


def test_large_mean_float32_as_accurate_as_torch():
    torch.manual_seed(0)
    x = torch.randn(64, 512) * 0.01 + 300.0
    exact = TF.layer_norm(x.double(), (512,)).float()
    ours, theirs = F.layer_norm(x, (512,)), TF.layer_norm(x, (512,))
    assert (ours - exact).abs().max() <= (theirs - exact).abs().max() * 1.5 + 1e-6


def test_mean_rstd_match_torch_native():
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    y, mean, rstd = ops.layer_norm(x, 2, None, None, 1e-5)
    ry, rmean, rrstd = torch.ops.aten.native_layer_norm(x, [4, 5], None, None, 1e-5)
    torch.testing.assert_close(y, ry)
    assert mean.shape == (3,) and rmean.shape == (3, 1, 1)  # ours: the leading dims only
    torch.testing.assert_close(mean.view(3, 1, 1), rmean)
    torch.testing.assert_close(rstd.view(3, 1, 1), rrstd)


def test_only_needed_grads():
    x = torch.randn(3, 8, dtype=torch.float64)
    w = torch.randn(8, dtype=torch.float64, requires_grad=True)
    b = torch.randn(8, dtype=torch.float64)
    (gw,) = torch.autograd.grad(F.layer_norm(x, (8,), w, b).sum(), w)
    (rw,) = torch.autograd.grad(TF.layer_norm(x, (8,), w, b).sum(), w)
    torch.testing.assert_close(gw, rw)


@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck(affine):
    x = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 4, dtype=torch.float64, requires_grad=True) if affine else None
    b = torch.randn(2, 4, dtype=torch.float64, requires_grad=True) if affine else None
    assert torch.autograd.gradcheck(lambda *a: F.layer_norm(a[0], (2, 4), *a[1:]), (x, w, b))
    assert torch.autograd.gradcheck(lambda a, c, d: A.LayerNormFunction.apply(a, 2, c, d, 1e-5)[0], (x, w, b))


def test_opcheck():
    x = torch.randn(3, 4, 5)
    w, b = torch.randn(4, 5, requires_grad=True), torch.randn(4, 5, requires_grad=True)
    torch.library.opcheck(ops.layer_norm, (x, 2, w, b, 1e-5))
    torch.library.opcheck(ops.layer_norm, (x.requires_grad_(), 1, None, None, 1e-3))
    _, mean, rstd = ops.layer_norm(x.detach(), 2, w.detach(), None, 1e-5)
    g = torch.randn(3, 4, 5)
    torch.library.opcheck(ops.layer_norm_backward, (g, x.detach(), 2, w.detach(), mean, rstd, True, True, True))
    torch.library.opcheck(ops.layer_norm_backward, (g, x.detach(), 2, None, mean, rstd, True, False, False))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Sequential(knn.LayerNorm(16), torch.nn.Linear(16, 8), knn.LayerNorm(8, bias=False))
    x = torch.randn(4, 5, 16, requires_grad=True)
    assert_compile_matches_eager(model, x)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(mode):
    x = torch.randn(2, 3, 8, requires_grad=True)
    m = knn.LayerNorm(8)
    calls = [lambda: F.layer_norm(x, (8,)), lambda: m(x), lambda: A.LayerNormFunction.apply(x, 1)[0]]
    assert_nothing_saved_without_grad(calls, mode)


@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False}, {"eps": 0.1}])
def test_nn_module_like_torch(kwargs):
    torch.manual_seed(1)
    ref = torch.nn.LayerNorm((3, 6), **kwargs)
    ours = knn.LayerNorm((3, 6), **kwargs)
    assert type(ours).__bases__[0] is torch.nn.LayerNorm and repr(ours) == repr(ref)
    if ref.weight is not None:
        with torch.no_grad():
            ref.weight.uniform_(-1, 1)
            if ref.bias is not None:
                ref.bias.uniform_(-1, 1)
    ours.load_state_dict(ref.state_dict())            # torch -> ours
    ref2 = torch.nn.LayerNorm((3, 6), **kwargs)
    ref2.load_state_dict(ours.state_dict())           # ours -> torch
    assert_module_like_torch(ours, ref, ref2, torch.randn(2, 4, 3, 6, requires_grad=True))


def test_convert_switches_layer_norm():
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.LayerNorm(6))
    x = torch.randn(3, 4)
    want = model(x)
    pkt.convert(model)
    assert type(model[1]) is knn.LayerNorm
    torch.testing.assert_close(model(x), want)


def test_numpy_path():
    x = np.random.randn(4, 3, 5)[:, ::-1, :].transpose(1, 0, 2)  # negative and transposed strides
    w, b = np.random.randn(5), np.random.randn(5)
    y, mean, rstd = pk.layer_norm(x, (5,), w, b, eps=1e-4)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    wt, bt = torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()
    ref = TF.layer_norm(xt, (5,), wt, bt, eps=1e-4)
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert mean.shape == (3, 4)
    g = np.random.randn(*x.shape)
    dx, dw, db = pk.layer_norm_backward(g, x, (5,), mean, rstd, w)
    rdx, rdw, rdb = torch.autograd.grad(ref, (xt, wt, bt), torch.from_numpy(g))
    for a, r in [(dx, rdx), (dw, rdw), (db, rdb)]:
        np.testing.assert_allclose(a, r.numpy(), rtol=1e-10, atol=1e-10)
    y32, _, _ = pk.layer_norm(x.astype(np.float32), 5)
    assert y32.dtype == np.float32
    dx2, dw2, db2 = pk.layer_norm_backward(g, x, 5, mean, rstd, None, need_weight=False, need_bias=False)
    assert dw2 is None and db2 is None and dx2.shape == x.shape


def test_bad_inputs_raise():
    x = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (3,))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(x, (2, 3, 4, 5))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, ())
    with pytest.raises(ValueError, match="weight"):
        F.layer_norm(x, (4,), torch.randn(5))
    with pytest.raises(ValueError, match="bias"):
        F.layer_norm(x, (3, 4), None, torch.randn(4))
    with pytest.raises(pk.KernelError, match="eps"):
        F.layer_norm(x, (4,), eps=float("nan"))
    with pytest.raises(pk.KernelError, match="eps"):
        F.layer_norm(x, (4,), eps=-1.0)
    with pytest.raises(TypeError):
        F.layer_norm(x.to(torch.int64), (4,))
    with pytest.raises(pk.KernelError):
        F.layer_norm(x, (4,), torch.randn(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="normalized_shape"):
        pk.layer_norm(x.numpy(), (3,))
    with pytest.raises(ValueError, match="normalized_ndim"):
        ops.layer_norm(x, 4, None, None, 1e-5)


def test_size_zero():
    x = torch.randn(0, 5, requires_grad=True)
    w = torch.randn(5, requires_grad=True)
    y = F.layer_norm(x, (5,), w)
    assert y.shape == (0, 5)
    (gw,) = torch.autograd.grad(y.sum(), w)
    assert torch.equal(gw, torch.zeros(5))
    _, mean, rstd = ops.layer_norm(torch.randn(3, 0), 1, None, None, 1e-5)
    _, rmean, rrstd = torch.ops.aten.native_layer_norm(torch.randn(3, 0), [0], None, None, 1e-5)
    torch.testing.assert_close(mean, rmean.view(3), equal_nan=True)
    torch.testing.assert_close(rstd, rrstd.view(3), equal_nan=True)
