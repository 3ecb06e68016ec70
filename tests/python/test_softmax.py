"""pykernels softmax / log_softmax: parity with torch on every dim and layout, extreme
logits, gradcheck, opcheck, torch.compile, no saved tensors under no_grad, nn mirrors,
the NumPy path and errors."""
import warnings

import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import LAYOUTS, strided, tol
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import softmax as ops

DTYPES = [torch.float32, torch.float64]
FNS = {"softmax": (F.softmax, torch.nn.functional.softmax),
       "log_softmax": (F.log_softmax, torch.nn.functional.log_softmax)}


@pytest.mark.parametrize("name", sorted(FNS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(7,), (4, 9), (3, 5, 6), (2, 3, 4, 5)])
def test_parity_every_dim(name, dtype, layout, shape):
    ours_fn, ref_fn = FNS[name]
    for dim in range(-len(shape), len(shape)):
        x = (3 * strided(shape, dtype, layout)).requires_grad_()
        y, ref = ours_fn(x, dim), ref_fn(x, dim)
        torch.testing.assert_close(y, ref, **tol(dtype))
        g = strided(shape, dtype, "transposed" if len(shape) > 1 else "sliced")
        torch.testing.assert_close(torch.autograd.grad(y, x, g)[0],
                                   torch.autograd.grad(ref, x, g)[0], **tol(dtype))


@pytest.mark.parametrize("name", sorted(FNS))
def test_random_shapes_and_permuted_strides(name):
    ours_fn, ref_fn = FNS[name]
    gen = torch.Generator().manual_seed(11)
    for _ in range(12):
        nd = int(torch.randint(1, 5, (1,), generator=gen))
        shape = tuple(int(s) for s in torch.randint(1, 6, (nd,), generator=gen))
        perm = torch.randperm(nd, generator=gen).tolist()
        base = torch.randn([shape[p] for p in perm], dtype=torch.float64, generator=gen)
        x = base.permute(*np.argsort(perm).tolist()).requires_grad_()
        assert x.shape == shape
        dim = int(torch.randint(-nd, nd, (1,), generator=gen))
        torch.testing.assert_close(ours_fn(x, dim), ref_fn(x, dim))
        g = torch.randn(shape[::-1], dtype=torch.float64, generator=gen).permute(
            *range(nd - 1, -1, -1))  # a transposed grad_output
        torch.testing.assert_close(torch.autograd.grad(ours_fn(x, dim), x, g)[0],
                                   torch.autograd.grad(ref_fn(x, dim), x, g)[0])


@pytest.mark.parametrize("name", sorted(FNS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits(name, dtype):
    ours_fn, ref_fn = FNS[name]
    x = torch.tensor([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4]], dtype=dtype,
                     requires_grad=True)
    y = ours_fn(x, 1)
    assert torch.isfinite(y).all() if name == "softmax" else not torch.isnan(y).any()
    torch.testing.assert_close(y, ref_fn(x, 1), **tol(dtype))
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.isfinite(g).all()
    torch.testing.assert_close(g, torch.autograd.grad(ref_fn(x, 1).sum(), x)[0], **tol(dtype))


def test_zero_dim_and_empty_like_torch():
    for name, (ours_fn, ref_fn) in FNS.items():
        x = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
        torch.testing.assert_close(ours_fn(x, 0), ref_fn(x, 0))
        torch.testing.assert_close(torch.autograd.grad(ours_fn(x, -1), x)[0],
                                   torch.autograd.grad(ref_fn(x, -1), x)[0])
        e = torch.randn(0, 4)
        assert ours_fn(e, 1).shape == (0, 4) and ours_fn(torch.randn(3, 0), 1).shape == (3, 0)


def test_dim_none_and_dtype_like_torch():
    x = torch.randn(3, 4, 5)
    for name, (ours_fn, ref_fn) in FNS.items():
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            got = ours_fn(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.testing.assert_close(got, ref_fn(x))
        y = ours_fn(x, 2, dtype=torch.float64)
        assert y.dtype == torch.float64
        torch.testing.assert_close(y, ref_fn(x, 2, dtype=torch.float64))


@pytest.mark.parametrize("name", sorted(FNS))
def test_gradcheck(name):
    fn = FNS[name][0]
    fun = A.SoftmaxFunction if name == "softmax" else A.LogSoftmaxFunction
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    for dim in (0, 1, -1):
        assert torch.autograd.gradcheck(lambda a: fn(a, dim), (x,))
        assert torch.autograd.gradcheck(lambda a: fun.apply(a, dim), (x,))
    xt = strided((4, 5), torch.float64, "transposed", requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: fn(a, 1), (xt,))


def test_opcheck():
    x = strided((4, 3, 5), torch.float64, "transposed", requires_grad=True)
    for op in (ops.softmax, ops.log_softmax):
        for dim in (0, 2, -2):
            torch.library.opcheck(op, (x, dim))
    y = torch.softmax(torch.randn(4, 5, dtype=torch.float64), 1)
    g = strided((4, 5), torch.float64, "sliced")
    torch.library.opcheck(ops.softmax_backward, (g, y, 1))
    torch.library.opcheck(ops.log_softmax_backward, (g, y.log(), 0))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()

    def f(x):
        return (F.softmax(x, 1) * F.log_softmax(x, 0)).sum() + knn.LogSoftmax(2)(x).sum()

    x = torch.randn(3, 4, 5, requires_grad=True)
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


@pytest.mark.parametrize("call", [lambda x: F.softmax(x, 1), lambda x: F.log_softmax(x, 0),
                                  lambda x: A.SoftmaxFunction.apply(x, 1),
                                  lambda x: knn.Softmax(dim=1)(x)])
def test_saves_only_the_output_and_nothing_under_no_grad(call):
    x = torch.randn(4, 5, requires_grad=True)
    n, out = _count_saved(lambda: call(x))
    assert n == 1 and out.grad_fn is not None
    for ctx in (torch.no_grad(), torch.inference_mode()):
        with ctx:
            n, out = _count_saved(lambda: call(x))
        assert n == 0 and out.grad_fn is None


def test_nn_modules_mirror_torch():
    for ours, ref in [(knn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
                      (knn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1))]:
        assert isinstance(ours, type(ref)) and ours.dim == ref.dim
        assert ours.state_dict().keys() == ref.state_dict().keys()
        ours.load_state_dict(ref.state_dict())
        x = torch.randn(3, 6)
        torch.testing.assert_close(ours(x), ref(x))


def test_numpy_path():
    x = np.random.randn(5, 6, 4).astype(np.float32)[:, ::2, :]  # strided view
    for dim in (0, 1, -1):
        ref = torch.softmax(torch.from_numpy(x.copy()), dim).numpy()
        np.testing.assert_allclose(pk.softmax(x, dim), ref, rtol=1e-5, atol=1e-6)
        lref = torch.log_softmax(torch.from_numpy(x.copy()), dim).numpy()
        np.testing.assert_allclose(pk.log_softmax(x, dim), lref, rtol=1e-5, atol=1e-5)
    y = pk.softmax(x.astype(np.float64), 1)
    g = np.random.randn(*y.shape)
    want = y * (g - (g * y).sum(1, keepdims=True))
    np.testing.assert_allclose(pk.softmax_backward(g, y, 1), want, rtol=1e-12, atol=1e-12)
    ly = np.log(y)
    np.testing.assert_allclose(pk.log_softmax_backward(g, ly, 1),
                               g - np.exp(ly) * g.sum(1, keepdims=True), rtol=1e-12, atol=1e-12)
    z = x.copy()
    assert pk.softmax(z, 0, out=z) is z  # in place
    np.testing.assert_allclose(z, torch.softmax(torch.from_numpy(x.copy()), 0).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(IndexError):
        F.softmax(x, 2)
    with pytest.raises(IndexError):
        F.log_softmax(x, -3)
    with pytest.raises(TypeError):
        F.softmax(x.to(torch.int32), 1)
    with pytest.raises(TypeError):
        F.softmax(x.half(), 1)
    with pytest.raises(IndexError):
        pk.softmax(np.zeros((2, 3)), 5)
    with pytest.raises(TypeError):
        pk.softmax(np.zeros((2, 3), np.int64), 1)
    with pytest.raises(pk.ShapeError):
        pk.softmax_backward(np.zeros((2, 3)), np.zeros((3, 2)), 1)
    with pytest.raises(pk.ShapeError):
        pk.softmax(np.zeros((2, 3)), 1, out=np.zeros((3, 2)))


@pytest.mark.cuda
@pytest.mark.skipif(not (torch.cuda.is_available() and pk.has_cuda()),
                    reason="needs a CUDA device and a CUDA build of libkernels")
@pytest.mark.parametrize("name", sorted(FNS))
def test_cuda_parity(name):
    ours_fn, ref_fn = FNS[name]
    for shape, dim in [((33, 1000), 1), ((4, 7, 5), 1), ((3, 2000), 0)]:
        x = strided(shape, torch.float32, "transposed", device="cuda", requires_grad=True)
        y, ref = ours_fn(x, dim), ref_fn(x, dim)
        torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-6)
        g = torch.randn_like(ref)
        torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ref, x, g)[0],
                                   rtol=1e-5, atol=1e-5)
