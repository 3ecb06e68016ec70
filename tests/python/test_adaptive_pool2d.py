"""pykernels.torch adaptive_avg_pool2d / adaptive_max_pool2d: parity with torch (values,
indices, grads) for every output_size form, gradcheck, opcheck, torch.compile, nothing
saved under no_grad, convert(), NumPy, empty tensors and errors as torch."""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch as pkt
import pykernels.torch.nn as knn
from _helpers import count_saved
from _pooling import (DTYPES, LAYOUTS, check_sum_and_indices, compiled_module_matches_eager,
                      make, tol)
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import adaptive_pool2d as ops

TF = torch.nn.functional

CASES = [  # (input shape, output_size)
    ((2, 3, 7, 7), 3),
    ((2, 3, 5, 5), 1),
    ((2, 3, 3, 3), 5),
    ((2, 3, 1, 1), (1, 1)),
    ((2, 4, 28, 28), (7, 7)),
    ((2, 16, 7, 7), (1, 1)),
    ((1, 2, 7, 6), (3, None)),
    ((1, 2, 7, 6), (None, 4)),
    ((2, 3, 10, 9), (4, 7)),
    ((2, 3, 2, 5), [7, 3]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_avg_parity(case, layout, dtype):
    shape, size = CASES[case]
    x = make(shape, dtype, layout, requires_grad=True)
    y, ry = F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(x, size)
    torch.testing.assert_close(y, ry, **tol(dtype))
    g = make(tuple(ry.shape), dtype, "sliced" if layout != "sliced" else "transposed")
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ry, x, g)[0],
                               **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_max_parity(case, layout, dtype):
    shape, size = CASES[case]
    x = make(shape, dtype, layout, requires_grad=True)
    y, i = F.adaptive_max_pool2d(x, size, return_indices=True)
    ry, ri = TF.adaptive_max_pool2d(x, size, return_indices=True)
    torch.testing.assert_close(y, ry, rtol=0, atol=0)
    assert torch.equal(i, ri) and i.dtype == torch.int64
    torch.testing.assert_close(F.adaptive_max_pool2d(x, size), ry, rtol=0, atol=0)
    g = make(tuple(ry.shape), dtype, "sliced" if layout != "sliced" else "channels_last")
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ry, x, g)[0],
                               **tol(dtype))


def test_unbatched_and_sizes():
    x = torch.randn(3, 9, 8, requires_grad=True)
    for size in [4, (2, 3), (None, 2), (3, None), (1, 1), (12, 10)]:
        torch.testing.assert_close(F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(x, size))
        y, i = F.adaptive_max_pool2d(x, size, True)
        ry, ri = TF.adaptive_max_pool2d(x, size, True)
        torch.testing.assert_close(y, ry)
        assert torch.equal(i, ri)
    g = torch.randn(3, 2, 3)
    y, ry = F.adaptive_avg_pool2d(x, (2, 3)), TF.adaptive_avg_pool2d(x, (2, 3))
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ry, x, g)[0])


def test_nan_inf_and_ties_like_torch():
    x = torch.randn(2, 3, 8, 8)
    x[0, 0, 0, 1] = float("nan")
    x[0, 0, 1, 0] = float("nan")
    x[0, 1, :3, :3] = float("-inf")
    x[0, 2] = 0.5  # all ties
    x[1, 0, 3, 3] = float("inf")
    for size in [(3, 3), (1, 1), (5, 6), (8, 8)]:
        y, i = F.adaptive_max_pool2d(x, size, return_indices=True)
        ry, ri = TF.adaptive_max_pool2d(x, size, return_indices=True)
        torch.testing.assert_close(y, ry, equal_nan=True, rtol=0, atol=0)
        assert torch.equal(i, ri)
        torch.testing.assert_close(F.adaptive_avg_pool2d(x, size), TF.adaptive_avg_pool2d(x, size),
                                   equal_nan=True)


def test_empty_like_torch():
    # accepted by torch: N = 0 everywhere, output sizes of 0 in the forwards, C = 0 for avg
    x = torch.randn(0, 3, 6, 6, requires_grad=True)
    for fn in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        y = fn(x, 2)
        assert y.shape == (0, 3, 2, 2)
        (g,) = torch.autograd.grad(y.sum(), x)
        assert g.shape == x.shape
    x = torch.randn(2, 3, 5, 4)
    for size in [(0, 2), (3, 0), 0]:
        assert F.adaptive_avg_pool2d(x, size).shape == TF.adaptive_avg_pool2d(x, size).shape
        y, i = F.adaptive_max_pool2d(x, size, True)
        assert y.shape == i.shape == TF.adaptive_max_pool2d(x, size).shape
    assert F.adaptive_avg_pool2d(torch.randn(2, 0, 4, 4), 2).shape == (2, 0, 2, 2)
    # refused by torch, and so here
    refused = [(F.adaptive_max_pool2d, torch.randn(2, 0, 4, 4), 2),
               (F.adaptive_avg_pool2d, torch.randn(2, 3, 0, 4), 2),
               (F.adaptive_max_pool2d, torch.randn(2, 3, 4, 0), 2),
               (F.adaptive_avg_pool2d, torch.randn(3, 0, 4), 2)]
    for fn, x, size in refused:
        with pytest.raises(RuntimeError):
            getattr(TF, fn.__name__)(x, size)
        with pytest.raises(pk.ShapeError, match="non-zero size"):
            fn(x, size)
    # backwards with an empty grad_output (Ho = 0, or C = 0): refused by torch and here
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    for fn in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        with pytest.raises(RuntimeError):
            getattr(TF, fn.__name__)(x, (0, 2)).sum().backward()
        with pytest.raises(pk.ShapeError, match="non-zero size"):
            fn(x, (0, 2)).sum().backward()
    with pytest.raises(pk.ShapeError):
        ops.adaptive_avg_pool2d_backward(torch.randn(2, 0, 2, 2), [4, 4])


def test_gradcheck():
    x = torch.randperm(2 * 2 * 7 * 6, dtype=torch.float64).reshape(2, 2, 7, 6).mul_(1e-2)
    x.requires_grad_()
    for size in [3, (4, 5), 1, (9, 8), (None, 2)]:
        assert torch.autograd.gradcheck(lambda a: F.adaptive_avg_pool2d(a, size), (x,))
        assert torch.autograd.gradcheck(lambda a: F.adaptive_max_pool2d(a, size), (x,))
    xt = x.detach().transpose(2, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: A.AdaptiveAvgPool2dFunction.apply(a, (3, 4)), (xt,))
    assert torch.autograd.gradcheck(lambda a: A.AdaptiveMaxPool2dFunction.apply(a, (3, 4))[0], (xt,))


def test_indices_not_differentiable():
    x = torch.randn(1, 1, 4, 4, requires_grad=True)
    y, i = F.adaptive_max_pool2d(x, 2, return_indices=True)
    assert y.requires_grad and not i.requires_grad


def test_opcheck():
    x = make((2, 3, 7, 6), torch.float64, "channels_last", requires_grad=True)
    for size in ([3, 4], [1, 1], [9, 2]):
        torch.library.opcheck(ops.adaptive_avg_pool2d, (x, size))
        torch.library.opcheck(ops.adaptive_max_pool2d, (x, size))
        y, i = ops.adaptive_max_pool2d(x.detach(), size)
        g = make(tuple(y.shape), torch.float64, "sliced")
        torch.library.opcheck(ops.adaptive_max_pool2d_backward, (g, i, [7, 6]))
        torch.library.opcheck(ops.adaptive_avg_pool2d_backward, (g, [7, 6]))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Sequential(knn.AdaptiveMaxPool2d((5, 4)), knn.AdaptiveAvgPool2d(3))
    x = torch.randn(4, 3, 12, 10, requires_grad=True)
    compiled_module_matches_eager(model, x)

    @torch.compile(fullgraph=True)
    def f(a):
        y, i = F.adaptive_max_pool2d(a, (None, 3), return_indices=True)
        return y.sum() + F.adaptive_avg_pool2d(a, 1).sum(), i

    got, gi = f(x)
    want = TF.adaptive_max_pool2d(x, (None, 3)).sum() + TF.adaptive_avg_pool2d(x, 1).sum()
    check_sum_and_indices(got, gi, want,
                          TF.adaptive_max_pool2d(x, (None, 3), return_indices=True)[1], x)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(mode):
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    calls = [lambda: F.adaptive_max_pool2d(x, 2), lambda: knn.AdaptiveMaxPool2d(3)(x),
             lambda: A.AdaptiveMaxPool2dFunction.apply(x, (2, 2))[0]]
    for call in calls:
        n, out = count_saved(call)
        assert n == 1 and out.grad_fn is not None  # indices saved when a grad is needed
        with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
            n, out = count_saved(call)
        assert n == 0 and out.grad_fn is None
    for call in [lambda: F.adaptive_avg_pool2d(x, 2), lambda: knn.AdaptiveAvgPool2d(1)(x),
                 lambda: A.AdaptiveAvgPool2dFunction.apply(x, (3, 2))]:
        n, out = count_saved(call)
        assert n == 0 and out.grad_fn is not None  # avg pooling never saves a tensor
        with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
            _, out = count_saved(call)
        assert out.grad_fn is None
    n, _ = count_saved(lambda: F.adaptive_max_pool2d(x.detach(), 2))
    assert n == 0


def test_nn_modules_like_torch():
    x = torch.randn(2, 3, 9, 9)
    for ours, ref in [(knn.AdaptiveAvgPool2d((4, None)), torch.nn.AdaptiveAvgPool2d((4, None))),
                      (knn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
                      (knn.AdaptiveMaxPool2d(5), torch.nn.AdaptiveMaxPool2d(5)),
                      (knn.AdaptiveMaxPool2d((2, 7), return_indices=True),
                       torch.nn.AdaptiveMaxPool2d((2, 7), return_indices=True))]:
        assert type(ours).__bases__ == (type(ref),) and repr(ours) == repr(ref)
        ours.load_state_dict(ref.state_dict())
        a, b = ours(x), ref(x)
        if isinstance(a, tuple):
            torch.testing.assert_close(a[0], b[0])
            assert torch.equal(a[1], b[1])
        else:
            torch.testing.assert_close(a, b)


def test_convert_switches_modules():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveMaxPool2d(5),
                                torch.nn.AdaptiveAvgPool2d((1, 1)), torch.nn.Flatten())
    x = torch.randn(2, 3, 12, 12)
    want = model(x)
    pkt.convert(model)
    assert type(model[1]) is knn.AdaptiveMaxPool2d and type(model[2]) is knn.AdaptiveAvgPool2d
    torch.testing.assert_close(model(x), want)


def test_numpy_path():
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    xn = x.numpy()[:, :, ::-1].transpose(0, 1, 3, 2)  # negative and transposed strides
    xt = torch.from_numpy(xn.copy())
    y, i = pk.adaptive_max_pool2d(xn, (4, None))
    ry, ri = TF.adaptive_max_pool2d(xt, (4, None), return_indices=True)
    np.testing.assert_array_equal(y, ry.numpy())
    np.testing.assert_array_equal(i, ri.numpy())
    y32, i32 = pk.adaptive_max_pool2d(xn.astype(np.float32), 3, index_dtype=np.int32)
    assert i32.dtype == np.int32 and y32.dtype == np.float32
    g = np.random.randn(*y.shape)
    dx = pk.adaptive_max_pool2d_backward(g, i, xn.shape)
    xt.requires_grad_()
    (rdx,) = torch.autograd.grad(TF.adaptive_max_pool2d(xt, (4, None)), xt, torch.from_numpy(g))
    np.testing.assert_allclose(dx, rdx.numpy(), rtol=1e-12, atol=1e-12)
    ya = pk.adaptive_avg_pool2d(xn, (5, 3))
    rya = TF.adaptive_avg_pool2d(xt, (5, 3))
    np.testing.assert_allclose(ya, rya.detach().numpy(), rtol=1e-12, atol=1e-12)
    ga = np.random.randn(*ya.shape)
    dxa = pk.adaptive_avg_pool2d_backward(ga, xn.shape)
    (rdxa,) = torch.autograd.grad(rya, xt, torch.from_numpy(ga))
    np.testing.assert_allclose(dxa, rdxa.numpy(), rtol=1e-12, atol=1e-12)
    out = np.empty((2, 3, 1, 1))
    assert pk.adaptive_avg_pool2d(xn, 1, out=out) is out
    np.testing.assert_allclose(out, xn.mean(axis=(2, 3), keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("fn", ["max", "avg"])
def test_errors(fn):
    pool = F.adaptive_max_pool2d if fn == "max" else F.adaptive_avg_pool2d
    x = torch.randn(1, 2, 5, 5)
    with pytest.raises(RuntimeError):  # torch raises RuntimeError too
        getattr(TF, pool.__name__)(x, (-1, 2))
    with pytest.raises(pk.ShapeError, match="greater than or equal to 0"):  # a ValueError
        pool(x, (-1, 2))
    with pytest.raises(pk.ShapeError, match="3-D"):
        pool(torch.randn(5, 5), 2)
    with pytest.raises(pk.ShapeError, match="3-D"):
        pool(torch.randn(1, 1, 1, 5, 5), 2)
    with pytest.raises(TypeError):
        pool(torch.randn(1, 2, 4, 4).to(torch.float16), 2)
    with pytest.raises(TypeError):
        pool(x, "2")
    for bad in [(2, 2, 2), [5]]:  # torch: "output_size must be 2"
        with pytest.raises(RuntimeError):
            getattr(TF, pool.__name__)(x, bad)
        with pytest.raises(pk.ShapeError, match="must be 2"):
            pool(x, bad)
    with pytest.raises(TypeError):
        pool(x, (2, "a"))
    with pytest.raises(TypeError):
        pool(x.numpy(), 2)
    npool = pk.adaptive_max_pool2d if fn == "max" else pk.adaptive_avg_pool2d
    with pytest.raises(pk.ShapeError):
        npool(x.numpy()[0], 2)
    with pytest.raises(pk.ShapeError):
        npool(x.numpy(), -3)
    with pytest.raises(TypeError):
        npool(torch.randn(1, 2, 4, 4), 2)


def test_backward_bad_index_raises():
    g = torch.randn(1, 1, 2, 2)
    i = torch.tensor([[[[0, 1], [4, 16]]]])
    with pytest.raises(pk.KernelError, match="indices: value 16"):
        ops.adaptive_max_pool2d_backward(g, i, [4, 4])
    with pytest.raises(pk.ShapeError):  # indices of another shape than grad_output
        ops.adaptive_max_pool2d_backward(g, i[..., :1], [4, 4])


def test_threads_bitwise():
    x = np.random.randn(8, 64, 7, 7).astype(np.float32)
    g = np.random.randn(8, 64, 3, 3).astype(np.float32)
    a = pk.adaptive_avg_pool2d_backward(g, x.shape, num_threads=1)
    b = pk.adaptive_avg_pool2d_backward(g, x.shape, num_threads=2)
    assert a.tobytes() == b.tobytes()
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # channels-last
    a = pk.adaptive_avg_pool2d(xl, 1, num_threads=1)
    b = pk.adaptive_avg_pool2d(xl, 1, num_threads=2)
    assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(a, x.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available() or not pk._C.has_cuda(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x = torch.randn(2, 8, 13, 11, dtype=torch.float64)
    for size in [(3, 4), 1, (20, 2)]:
        xc = x.cuda().requires_grad_()
        xr = x.clone().requires_grad_()
        for fn in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            yc, yr = fn(xc, size), fn(xr, size)
            torch.testing.assert_close(yc.cpu(), yr)
            g = torch.randn_like(yr)
            torch.testing.assert_close(torch.autograd.grad(yc, xc, g.cuda())[0].cpu(),
                                       torch.autograd.grad(yr, xr, g)[0])
