"""pykernels.torch batch_norm: parity with torch.nn.functional.batch_norm and
torch.nn.BatchNorm1d/2d/3d for every option (training and eval, momentum None, affine
off, track_running_stats off, running stats after several steps, channels_last inputs),
non-contiguous grad_output, gradcheck in float64, opcheck of both custom ops,
torch.compile(fullgraph=True) of a conv+bn+relu block, nothing saved without grad,
state_dict both ways, convert(), the NumPy path, bad input -> clear exceptions."""
import copy

import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch as pkt
import pykernels.torch.nn as knn
from _helpers import count_saved
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import batch_norm as ops

TF = torch.nn.functional


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)


SHAPES = [(8, 5), (4, 3, 7), (4, 6, 5, 7), (2, 3, 4, 5, 3), (0, 3, 4, 4)]


def run(fn, x, weight, bias, rm, rv, gy, **kw):
    x = x.detach().clone().requires_grad_()
    w = None if weight is None else weight.detach().clone().requires_grad_()
    b = None if bias is None else bias.detach().clone().requires_grad_()
    y = fn(x, rm, rv, w, b, **kw)
    grads = torch.autograd.grad(y, [t for t in (x, w, b) if t is not None], gy, allow_unused=True)
    return y, grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("running", [True, False])
def test_functional_parity(dtype, shape, training, affine, running):
    if not training and not running:
        pytest.skip("eval mode needs running stats")
    torch.manual_seed(0)
    C = shape[1]
    x = torch.randn(shape, dtype=dtype) * 2 + 3
    w = torch.randn(C, dtype=dtype) if affine else None
    b = torch.randn(C, dtype=dtype) if affine else None
    rm = torch.randn(C, dtype=dtype) if running else None
    rv = torch.rand(C, dtype=dtype) + 0.5 if running else None
    gy = torch.randn(shape, dtype=dtype)
    rm2, rv2 = (rm.clone(), rv.clone()) if running else (None, None)
    y, g = run(F.batch_norm, x, w, b, rm, rv, gy, training=training, momentum=0.3, eps=1e-4)
    y_ref, g_ref = run(TF.batch_norm, x, w, b, rm2, rv2, gy, training=training, momentum=0.3,
                       eps=1e-4)
    torch.testing.assert_close(y, y_ref, **tol(dtype))
    for a, r in zip(g, g_ref):
        torch.testing.assert_close(a, r, **tol(dtype))
    if running:
        torch.testing.assert_close(rm, rm2, **tol(dtype))
        torch.testing.assert_close(rv, rv2, **tol(dtype))


@pytest.mark.parametrize("layout", ["channels_last", "transposed", "sliced"])
@pytest.mark.parametrize("grad_layout", ["contiguous", "transposed", "channels_last"])
def test_layouts_and_noncontiguous_grad(layout, grad_layout):
    torch.manual_seed(1)
    shape = (4, 6, 5, 7)
    base = torch.randn(shape)
    if layout == "channels_last":
        x = base.contiguous(memory_format=torch.channels_last)
    elif layout == "transposed":
        x = base.transpose(2, 3).contiguous().transpose(2, 3)
    else:
        x = torch.randn(4, 12, 5, 7)[:, ::2]
    gy = torch.randn(shape)
    if grad_layout == "transposed":
        gy = gy.transpose(0, 3).contiguous().transpose(0, 3)
    elif grad_layout == "channels_last":
        gy = gy.contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(6), torch.randn(6)
    rm, rv = torch.zeros(6), torch.ones(6)
    rm2, rv2 = rm.clone(), rv.clone()
    y, g = run(F.batch_norm, x, w, b, rm, rv, gy, training=True)
    y_ref, g_ref = run(TF.batch_norm, x, w, b, rm2, rv2, gy, training=True)
    torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-5)
    for a, r in zip(g, g_ref):
        torch.testing.assert_close(a, r, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(rv, rv2)
    if layout == "channels_last":
        assert y.is_contiguous(memory_format=torch.channels_last)


def test_large_mean_float32_stats_match_torch():
    torch.manual_seed(2)
    x = torch.randn(16, 4, 64, 64) * 0.5 + 100
    rm, rv = torch.zeros(4), torch.ones(4)
    rm2, rv2 = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, training=True)
    y_ref = TF.batch_norm(x, rm2, rv2, training=True)
    torch.testing.assert_close(y, y_ref, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(rv, rv2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (6, 5, 9)),
                                       ("BatchNorm2d", (4, 5, 6, 7)),
                                       ("BatchNorm3d", (2, 5, 3, 4, 5))])
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False),
                                dict(track_running_stats=False), dict(momentum=0.5, eps=1e-3)])
def test_modules_like_torch_over_steps(cls, shape, kw):
    torch.manual_seed(3)
    ref = getattr(torch.nn, cls)(5, **kw)
    ours = getattr(knn, cls)(5, **kw)
    assert type(ours).__bases__ == (getattr(torch.nn, cls),) and repr(ours) == repr(ref)
    if ref.affine:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5), ref.bias.uniform_(-1, 1)
    ours.load_state_dict(ref.state_dict())
    for step in range(4):
        x = (torch.randn(shape) * (step + 1) + step).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        y, y_ref = ours(x), ref(x2)
        torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-5)
        y.square().sum().backward()
        y_ref.square().sum().backward()
        torch.testing.assert_close(x.grad, x2.grad, rtol=1e-4, atol=1e-4)
    if ref.affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad, rtol=1e-4, atol=1e-4)
    sd, sd_ref = ours.state_dict(), ref.state_dict()
    assert list(sd) == list(sd_ref)
    for k in sd:
        torch.testing.assert_close(sd[k], sd_ref[k], rtol=1e-5, atol=1e-6)
    ours.eval(), ref.eval()
    x = torch.randn(shape)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


def test_state_dict_both_ways_and_convert():
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2),
                              torch.nn.BatchNorm1d(2))
    x = torch.randn(5, 3, 8, 8)
    ref.train()
    ref(x)  # running stats move
    model = copy.deepcopy(ref)
    report = pkt.convert(model)
    assert type(model[1]) is knn.BatchNorm2d and type(model[5]) is knn.BatchNorm1d
    assert all(c.replaced for c in report if c.layer.startswith("BatchNorm"))
    from pykernels.torch.conversion import twins
    assert twins()[torch.nn.BatchNorm3d] is knn.BatchNorm3d
    torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(model[1].running_var, ref[1].running_var)
    assert int(model[1].num_batches_tracked) == int(ref[1].num_batches_tracked) == 2
    back = torch.nn.BatchNorm2d(4)
    back.load_state_dict(model[1].state_dict())
    fresh = knn.BatchNorm2d(4)
    fresh.load_state_dict(ref[1].state_dict())
    torch.testing.assert_close(fresh.running_mean, ref[1].running_mean)


def test_gradcheck():
    torch.manual_seed(4)
    for training in (True, False):
        x = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
        w = torch.randn(2, dtype=torch.float64, requires_grad=True)
        b = torch.randn(2, dtype=torch.float64, requires_grad=True)
        rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
        assert torch.autograd.gradcheck(
            lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.0), (x, w, b))
        xt = torch.randn(3, 4, 2, dtype=torch.float64).transpose(1, 2).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda x, w: F.batch_norm(x, None, None, w, None, training=True), (xt, w))


def test_opcheck():
    x = torch.randn(4, 3, 5)
    w, b = torch.randn(3), torch.randn(3)
    torch.library.opcheck(ops.batch_norm, (x, w, b, torch.zeros(3), torch.ones(3), True, 0.1, 1e-5))
    torch.library.opcheck(ops.batch_norm, (x, None, None, torch.zeros(3), torch.ones(3), False, 0.1, 1e-5))
    torch.library.opcheck(ops.batch_norm, (x.requires_grad_(), w.requires_grad_(), b, None, None,
                                           True, 0.1, 1e-5))
    x = x.detach()
    _, sm, si, _, _ = ops.batch_norm(x, w.detach(), b, None, None, True, 0.1, 1e-5)
    gy = torch.randn(4, 3, 5)
    torch.library.opcheck(ops.batch_norm_backward, (gy, x, w.detach(), sm, si, True, True, True, True))
    torch.library.opcheck(ops.batch_norm_backward, (gy, x, None, sm, si, False, True, False, True))


def test_compile_fullgraph_conv_bn_relu():
    torch.manual_seed(5)
    block = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), knn.BatchNorm2d(4),
                                torch.nn.ReLU())
    ref = copy.deepcopy(block)
    ref[1].__class__ = torch.nn.BatchNorm2d
    x = torch.randn(2, 3, 6, 6)
    compiled = torch.compile(block, fullgraph=True)
    y = compiled(x)
    y_ref = ref(x)
    torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-5)
    y.sum().backward()
    y_ref.sum().backward()
    torch.testing.assert_close(block[1].weight.grad, ref[1].weight.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(block[0].weight.grad, ref[0].weight.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(block[1].running_mean, ref[1].running_mean)
    torch.testing.assert_close(block[1].running_var, ref[1].running_var)
    block.eval(), ref.eval()
    torch.testing.assert_close(torch.compile(block, fullgraph=True)(x), ref(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("call", ["functional", "module", "Function"])
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(call, mode):
    m = knn.BatchNorm2d(3)
    fns = {"functional": lambda x: F.batch_norm(x, m.running_mean, m.running_var, m.weight,
                                                m.bias, True),
           "module": lambda x: m(x),
           "Function": lambda x: A.BatchNormFunction.apply(x, m.weight, m.bias, None, None, True,
                                                           0.1, 1e-5)[0]}
    x = torch.randn(2, 3, 4, 4)
    n, out = count_saved(lambda: fns[call](x))
    assert n == 4 and out.grad_fn is not None
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        n, out = count_saved(lambda: fns[call](x))
    assert n == 0 and out.grad_fn is None


def test_signature_is_torchs():
    import inspect
    def names(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]
    assert names(F.batch_norm) == names(TF.batch_norm)


def test_autograd_function():
    x = torch.randn(4, 3, 5, requires_grad=True)
    w = torch.randn(3, requires_grad=True)
    y, sm, si = A.BatchNormFunction.apply(x, w, None, None, None, True, 0.1, 1e-5)
    assert not sm.requires_grad and not si.requires_grad
    torch.testing.assert_close(sm, x.detach().mean((0, 2)))
    torch.testing.assert_close(si, 1 / (x.detach().var((0, 2), unbiased=False) + 1e-5).sqrt())
    y.sum().backward()
    assert x.grad is not None and w.grad is not None


def test_running_stats_version_bumped_like_torch():
    rm, rv = torch.zeros(3), torch.ones(3)
    v0 = rm._version
    F.batch_norm(torch.randn(4, 3), rm, rv, training=True)
    assert rm._version > v0


def test_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 6))
    xt = torch.from_numpy(x)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = np.zeros(3), np.ones(3)
    rm_t, rv_t = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y, sm, si = pk.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2)
    y_ref = TF.batch_norm(xt, rm_t, rv_t, torch.from_numpy(w), torch.from_numpy(b), True, 0.2)
    np.testing.assert_allclose(y, y_ref.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rv, rv_t.numpy(), rtol=1e-12)
    gy = rng.standard_normal(x.shape)[:, :, ::-1]
    dx, dw, db = pk.batch_norm_backward(gy, x, w, sm, si, training=True)
    xr = xt.clone().requires_grad_()
    wr = torch.from_numpy(w).requires_grad_()
    br = torch.from_numpy(b).requires_grad_()
    TF.batch_norm(xr, None, None, wr, br, True).backward(torch.from_numpy(gy.copy()))
    np.testing.assert_allclose(dx, xr.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dw, wr.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(db, br.grad.numpy(), rtol=1e-9, atol=1e-10)
    ye, sme, sie = pk.batch_norm(x, rm, rv, w, b)  # eval
    np.testing.assert_allclose(sme, rm)
    np.testing.assert_allclose(sie, 1 / np.sqrt(rv + 1e-5))


def test_errors():
    x = torch.randn(4, 3, 5)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(torch.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        knn.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match="C from x"):
        F.batch_norm(x, torch.zeros(4), torch.ones(4), training=True)
    with pytest.raises(ValueError, match="weight"):
        F.batch_norm(x, None, None, torch.ones(2), training=True)
    with pytest.raises(pk.KernelError, match="required in eval mode"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.batch_norm(torch.randn(5), None, None, training=True)
    rm = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(pk.KernelError, match="running_mean: dtype float64 does not match"):
        F.batch_norm(x, rm, torch.ones(3), training=True)
    assert (rm == 0).all()
    with pytest.raises(pk.KernelError, match="p->eps"):
        F.batch_norm(x, None, None, training=True, eps=-1.0)
    with pytest.raises(ValueError):  # BatchNorm2d's own dim check
        knn.BatchNorm2d(3)(x)
    with pytest.raises(pk.KernelError, match="expected more than 1 value per channel"):
        pk.batch_norm(np.ones((1, 3)), training=True)
    with pytest.raises(TypeError):
        pk.batch_norm([[1.0, 2.0]], training=True)
