"""pykernels nll_loss / cross_entropy: every option combination against torch
(weight x ignore_index x reduction x label_smoothing, K-dimensional targets,
unbatched input), class-probability targets, gradcheck, opcheck, torch.compile, no
saved tensors under no_grad, nn mirrors, the NumPy path and errors."""
import itertools

import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import strided, tol
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import cross_entropy as ce_ops
from pykernels.torch.ops import nll_loss as nll_ops

TF = torch.nn.functional
SHAPES = [((6, 5), (6,)), ((5,), ()), ((3, 4, 2), (3, 2)), ((2, 3, 2, 3), (2, 2, 3)),
          ((0, 4), (0,))]
OPTIONS = list(itertools.product([False, True], [-100, 1], ["none", "mean", "sum"]))


def _targets(tshape, classes, ignore_index, dtype=torch.int64):
    t = torch.randint(0, classes, tshape, dtype=dtype)
    if ignore_index >= 0 and t.numel():
        t.view(-1)[::3] = ignore_index
    return t


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("weighted,ignore_index,reduction", OPTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cross_entropy_parity(shapes, weighted, ignore_index, reduction, smoothing, dtype):
    ishape, tshape = shapes
    classes = ishape[0] if len(ishape) == 1 else ishape[1]
    x = (4 * strided(ishape, dtype, "transposed" if len(ishape) > 1 else "sliced")).requires_grad_()
    t = _targets(tshape, classes, ignore_index, torch.int32 if weighted else torch.int64)
    w = torch.rand(classes, dtype=dtype) + 0.2 if weighted else None
    kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
    loss, ref = F.cross_entropy(x, t, **kw), TF.cross_entropy(x, t.long(), **kw)
    torch.testing.assert_close(loss, ref, **tol(dtype), equal_nan=True)
    if ref.numel() and torch.isfinite(ref).all():
        g = torch.rand_like(ref) + 0.5
        torch.testing.assert_close(torch.autograd.grad(loss, x, g)[0],
                                   torch.autograd.grad(ref, x, g)[0], **tol(dtype))


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("weighted,ignore_index,reduction", OPTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nll_loss_parity(shapes, weighted, ignore_index, reduction, dtype):
    ishape, tshape = shapes
    classes = ishape[0] if len(ishape) == 1 else ishape[1]
    x = strided(ishape, dtype, "sliced").requires_grad_()
    t = _targets(tshape, classes, ignore_index)
    w = torch.rand(classes, dtype=dtype) + 0.2 if weighted else None
    kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction)
    loss, ref = F.nll_loss(x, t, **kw), TF.nll_loss(x, t, **kw)
    torch.testing.assert_close(loss, ref, **tol(dtype), equal_nan=True)
    if ref.numel() and torch.isfinite(ref).all():
        g = strided(ref.shape, dtype, "transposed") if ref.dim() else torch.tensor(0.7, dtype=dtype)
        torch.testing.assert_close(torch.autograd.grad(loss, x, g)[0],
                                   torch.autograd.grad(ref, x, g)[0], **tol(dtype))


def test_all_ignored_mean_is_nan_like_torch():
    x, t = torch.randn(4, 3), torch.full((4,), -100)
    for ours, ref in [(F.cross_entropy, TF.cross_entropy), (F.nll_loss, TF.nll_loss)]:
        assert torch.isnan(ours(x, t)) and torch.isnan(ref(x, t))
        assert ours(x, t, reduction="sum") == 0


def test_extreme_logits():
    x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    t = torch.tensor([1, 2])
    for s in (0.0, 0.3):
        loss, ref = F.cross_entropy(x, t, label_smoothing=s), TF.cross_entropy(x, t, label_smoothing=s)
        assert torch.isfinite(loss)
        torch.testing.assert_close(loss, ref)
        torch.testing.assert_close(torch.autograd.grad(loss, x)[0], torch.autograd.grad(ref, x)[0])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_probability_targets(reduction, smoothing):
    x = torch.randn(5, 4, 3, dtype=torch.float64, requires_grad=True)
    p = torch.softmax(torch.randn(5, 4, 3, dtype=torch.float64), 1)
    w = torch.rand(4, dtype=torch.float64) + 0.1
    for weight in (None, w):
        kw = dict(weight=weight, reduction=reduction, label_smoothing=smoothing)
        loss, ref = F.cross_entropy(x, p, **kw), TF.cross_entropy(x, p, **kw)
        torch.testing.assert_close(loss, ref)
        g = torch.ones_like(ref)
        torch.testing.assert_close(torch.autograd.grad(loss, x, g)[0], torch.autograd.grad(ref, x, g)[0])


def test_legacy_arguments_and_modules_like_torch():
    x, t = torch.randn(6, 4), torch.randint(0, 4, (6,))
    for kwargs in [dict(size_average=False), dict(reduce=False), dict(size_average=True)]:
        torch.testing.assert_close(F.nll_loss(x, t, **kwargs), TF.nll_loss(x, t, **kwargs))
        torch.testing.assert_close(F.cross_entropy(x, t, **kwargs), TF.cross_entropy(x, t, **kwargs))
    w = torch.rand(4) + 0.5
    for ours, ref in [(knn.NLLLoss(weight=w, ignore_index=2, reduction="sum"),
                       torch.nn.NLLLoss(weight=w, ignore_index=2, reduction="sum")),
                      (knn.CrossEntropyLoss(weight=w, label_smoothing=0.1),
                       torch.nn.CrossEntropyLoss(weight=w, label_smoothing=0.1))]:
        assert isinstance(ours, type(ref))
        assert ours.state_dict().keys() == ref.state_dict().keys() == {"weight"}
        ours.load_state_dict(ref.state_dict())
        torch.testing.assert_close(ours(x, t), ref(x, t))
        ref.load_state_dict(ours.state_dict())


def test_gradcheck():
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[0, 2], [1, 1], [2, -100], [0, 1]])
    w = torch.rand(3, dtype=torch.float64) + 0.5
    for reduction in ("none", "mean", "sum"):
        assert torch.autograd.gradcheck(
            lambda a: F.cross_entropy(a, t, w, reduction=reduction, label_smoothing=0.3), (x,))
        assert torch.autograd.gradcheck(lambda a: F.nll_loss(a, t, w, reduction=reduction), (x,))
        assert torch.autograd.gradcheck(
            lambda a: A.CrossEntropyFunction.apply(a, t, w, reduction, -100, 0.1)[0], (x,))
        assert torch.autograd.gradcheck(lambda a: A.NLLLossFunction.apply(a, t, None, reduction)[0], (x,))
    assert torch.autograd.gradcheck(lambda a: A.CrossEntropyFunction.apply(a, t)[0], (x,))


def test_opcheck():
    x = strided((4, 5), torch.float64, "transposed", requires_grad=True)
    t = torch.tensor([0, 4, 2, -100])
    w = torch.rand(5, dtype=torch.float64)
    for reduction in ("none", "mean", "sum"):
        torch.library.opcheck(ce_ops.cross_entropy, (x, t, w, reduction, -100, 0.2))
        torch.library.opcheck(nll_ops.nll_loss, (x, t, None, reduction, -100))
        g = torch.randn(4, dtype=torch.float64) if reduction == "none" else torch.tensor(
            0.5, dtype=torch.float64)
        tw = torch.tensor(3.0, dtype=torch.float64)
        torch.library.opcheck(ce_ops.cross_entropy_backward,
                              (g, x.detach(), t, w, tw, reduction, -100, 0.2))
        torch.library.opcheck(nll_ops.nll_loss_backward, (g, x.detach(), t, w, tw, reduction, -100))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    t = torch.tensor([1, 0, 3, 2, -100])
    w = torch.rand(4) + 0.5
    lossf = knn.CrossEntropyLoss(weight=w, label_smoothing=0.1)

    def f(x):
        return lossf(x, t) + F.nll_loss(F.log_softmax(x, 1), t, reduction="sum")

    x = torch.randn(5, 4, requires_grad=True)
    eager = f(x)
    (ge,) = torch.autograd.grad(eager, x)
    compiled = torch.compile(f, fullgraph=True)(x)
    (gc,) = torch.autograd.grad(compiled, x)
    torch.testing.assert_close(compiled, eager)
    torch.testing.assert_close(gc, ge)


def _count_saved(fn):
    packed = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        out = fn()
    return len(packed), out


@pytest.mark.parametrize("call", [
    lambda x, t: F.cross_entropy(x, t),
    lambda x, t: F.nll_loss(x, t, reduction="none"),
    lambda x, t: knn.CrossEntropyLoss(label_smoothing=0.2)(x, t),
    lambda x, t: A.NLLLossFunction.apply(x, t)[0]])
def test_nothing_saved_under_no_grad(call):
    x, t = torch.randn(4, 3, requires_grad=True), torch.tensor([0, 2, 1, 1])
    n, out = _count_saved(lambda: call(x, t))
    assert n > 0 and out.grad_fn is not None
    for ctx in (torch.no_grad(), torch.inference_mode()):
        with ctx:
            n, out = _count_saved(lambda: call(x, t))
        assert n == 0 and out.grad_fn is None


def test_weight_gradient_not_implemented_like_torch():
    x, t = torch.randn(4, 3, requires_grad=True), torch.tensor([0, 2, 1, 1])
    w = torch.rand(3, requires_grad=True)
    with pytest.raises(NotImplementedError):
        F.cross_entropy(x, t, w).backward()


def test_numpy_path():
    x = np.random.randn(6, 4, 3)[:, :, ::2]  # strided view
    t = np.random.randint(0, 4, (6, 2)).astype(np.int32)
    t[0, 0] = -100
    w = np.random.rand(4) + 0.1
    tx, tt, tw_ = torch.from_numpy(x.copy()), torch.from_numpy(t).long(), torch.from_numpy(w)
    for reduction in ("none", "mean", "sum"):
        loss, tw = pk.cross_entropy(x, t, w, reduction=reduction, label_smoothing=0.1,
                                    return_total_weight=True)
        ref = TF.cross_entropy(tx, tt, tw_, reduction=reduction, label_smoothing=0.1)
        np.testing.assert_allclose(loss, ref.numpy(), rtol=1e-12)
        g = np.ones(loss.shape)
        gx = pk.cross_entropy_backward(g, x, t, tw, w, reduction=reduction, label_smoothing=0.1)
        txr = tx.clone().requires_grad_()
        TF.cross_entropy(txr, tt, tw_, reduction=reduction, label_smoothing=0.1).backward(
            torch.from_numpy(g))
        np.testing.assert_allclose(gx, txr.grad.numpy(), rtol=1e-10, atol=1e-12)
        lp = np.log(pk.softmax(x, 1))
        nl, ntw = pk.nll_loss(lp, t, w, reduction=reduction, return_total_weight=True)
        np.testing.assert_allclose(nl, TF.nll_loss(torch.from_numpy(lp), tt, tw_, reduction=reduction).numpy(),
                                   rtol=1e-12)
        gl = pk.nll_loss_backward(g, lp.shape, t, ntw, w, reduction=reduction)
        assert gl.shape == lp.shape
    assert float(pk.nll_loss(np.zeros((2, 3)), np.array([1, 2]), reduction="sum")) == 0


def test_errors():
    x = torch.randn(4, 3)
    with pytest.raises(pk.KernelError, match="out of range"):
        F.cross_entropy(x, torch.tensor([0, 3, 1, 1]))
    with pytest.raises(pk.KernelError, match="out of range"):
        F.nll_loss(x, torch.tensor([0, -1, 1, 1]))
    with pytest.raises(pk.KernelError, match="out of range"):
        pk.cross_entropy(np.zeros((2, 3)), np.array([0, 7]))
    with pytest.raises(TypeError):  # float class indices
        F.nll_loss(x, torch.zeros(4))
    with pytest.raises(TypeError):
        pk.nll_loss(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError):  # target shape
        F.cross_entropy(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        F.nll_loss(x, torch.zeros(4, 1, dtype=torch.long))
    with pytest.raises(ValueError):  # probability target of the wrong shape
        F.cross_entropy(x, torch.rand(4, 2))
    with pytest.raises(ValueError):
        F.cross_entropy(x, torch.tensor([0, 1, 2, 0]), weight=torch.ones(2))
    for s in (-0.1, 1.5):
        with pytest.raises(ValueError):
            F.cross_entropy(x, torch.tensor([0, 1, 2, 0]), label_smoothing=s)
        with pytest.raises(ValueError):
            ce_ops.cross_entropy(x, torch.tensor([0, 1, 2, 0]), None, "mean", -100, s)
    with pytest.raises(ValueError):
        F.nll_loss(x, torch.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(pk.KernelError):  # nll_loss has no label smoothing in the C ABI
        pk._C.nll_loss_forward(1, -100, 0.1, np.zeros((2, 3)), np.array([0, 1]), None,
                               np.zeros(()), np.zeros(()))


@pytest.mark.cuda
@pytest.mark.skipif(not (torch.cuda.is_available() and pk.has_cuda()),
                    reason="needs a CUDA device and a CUDA build of libkernels")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cuda_parity(reduction):
    x = strided((37, 11, 3), torch.float64, "transposed", device="cuda", requires_grad=True)
    t = torch.randint(0, 11, (37, 3), device="cuda")
    t[::4] = -100
    w = torch.rand(11, dtype=torch.float64, device="cuda") + 0.1
    for ours, ref, kw in [(F.cross_entropy, TF.cross_entropy, dict(label_smoothing=0.2)),
                          (F.nll_loss, TF.nll_loss, {})]:
        loss, want = ours(x, t, w, reduction=reduction, **kw), ref(x, t, w, reduction=reduction, **kw)
        torch.testing.assert_close(loss, want)
        g = torch.rand_like(want)
        torch.testing.assert_close(torch.autograd.grad(loss, x, g)[0], torch.autograd.grad(want, x, g)[0])
    bad = t.clone()
    bad[1, 0] = 11  # CUDA: out-of-range target -> NaN, no error
    assert torch.isnan(F.cross_entropy(x, bad, reduction="sum"))
