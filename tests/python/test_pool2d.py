"""pykernels.torch max_pool2d / avg_pool2d: parity with torch (values, indices, grads),
gradcheck, opcheck, torch.compile, nothing saved under no_grad, NumPy, errors."""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import count_saved
from _pooling import (DTYPES, LAYOUTS, check_sum_and_indices, compiled_module_matches_eager,
                      make, tol)
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import pool2d as ops

TF = torch.nn.functional

MAX_CASES = [  # (input shape, kwargs)
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 10, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 1))),
    ((2, 2, 7, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((1, 3, 6, 7), dict(kernel_size=(4, 3), stride=(3, 2), padding=(2, 1), ceil_mode=True)),
    ((2, 2, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    ((2, 4, 6, 6), dict(kernel_size=[2], stride=[1], dilation=2)),
    ((3, 2, 5, 6), dict(kernel_size=(5, 6), stride=1)),
]

AVG_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 7, 8), dict(kernel_size=(3, 4), stride=(2, 3), padding=(1, 2), ceil_mode=True)),
    ((1, 2, 7, 8), dict(kernel_size=(3, 4), stride=(2, 3), padding=(1, 2), ceil_mode=True,
                        count_include_pad=False)),
    ((2, 2, 6, 6), dict(kernel_size=3, padding=1, divisor_override=5)),
    ((2, 2, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
]


def _ties_free(x):
    """Values spaced 1e-2 apart in random order: no ties in any window."""
    with torch.no_grad():
        v = torch.randperm(x.numel(), dtype=torch.float64).reshape(x.shape) * 1e-2
        x.copy_(v.to(x.dtype))
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(MAX_CASES)))
def test_max_pool2d_parity(case, layout, dtype):
    shape, kw = MAX_CASES[case]
    x = make(shape, dtype, layout, requires_grad=True)
    y, i = F.max_pool2d(x, return_indices=True, **kw)
    ry, ri = TF.max_pool2d(x, return_indices=True, **kw)
    torch.testing.assert_close(y, ry, rtol=0, atol=0)
    assert torch.equal(i, ri) and i.dtype == torch.int64
    g = make(tuple(ry.shape), dtype, "sliced" if layout != "sliced" else "channels_last")
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ry, x, g)[0],
                               **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(AVG_CASES)))
def test_avg_pool2d_parity(case, layout, dtype):
    shape, kw = AVG_CASES[case]
    x = make(shape, dtype, layout, requires_grad=True)
    y, ry = F.avg_pool2d(x, **kw), TF.avg_pool2d(x, **kw)
    torch.testing.assert_close(y, ry, **tol(dtype))
    g = make(tuple(ry.shape), dtype, "channels_last" if layout != "channels_last" else "sliced")
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ry, x, g)[0],
                               **tol(dtype))


def test_unbatched_and_defaults():
    x = torch.randn(3, 9, 8, requires_grad=True)
    y, i = F.max_pool2d(x, 3, return_indices=True)  # stride None = kernel_size
    ry, ri = TF.max_pool2d(x, 3, return_indices=True)
    assert y.shape == ry.shape == (3, 3, 2)
    torch.testing.assert_close(y, ry)
    assert torch.equal(i, ri)
    torch.testing.assert_close(F.avg_pool2d(x, 2, stride=()), TF.avg_pool2d(x, 2, stride=()))
    torch.testing.assert_close(F.avg_pool2d(x, 3, 1, 1), TF.avg_pool2d(x, 3, 1, 1))
    g = torch.randn(3, 3, 2)
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ry, x, g)[0])


def test_nan_inf_and_ties_like_torch():
    x = torch.randn(2, 3, 8, 8)
    x[0, 0, 0, 1] = float("nan")
    x[0, 0, 1, 0] = float("nan")
    x[0, 1, :2, :2] = float("-inf")
    x[0, 2] = 0.5  # all ties
    x[1, 0, 3, 3] = float("inf")
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)]:
        y, i = F.max_pool2d(x, return_indices=True, **kw)
        ry, ri = TF.max_pool2d(x, return_indices=True, **kw)
        torch.testing.assert_close(y, ry, equal_nan=True, rtol=0, atol=0)
        assert torch.equal(i, ri)


def test_empty_batch():
    x = torch.randn(0, 3, 6, 6, requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert y.shape == (0, 3, 3, 3)
    assert F.avg_pool2d(x, 2).shape == (0, 3, 3, 3)
    (g,) = torch.autograd.grad(y.sum(), x)
    assert g.shape == x.shape


def test_gradcheck():
    x = _ties_free(torch.empty(2, 2, 7, 6, dtype=torch.float64)).requires_grad_()
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
               dict(kernel_size=(2, 3), dilation=(2, 1), stride=1)]:
        assert torch.autograd.gradcheck(lambda a: F.max_pool2d(a, **kw), (x,))
    assert torch.autograd.gradcheck(
        lambda a: A.MaxPool2dFunction.apply(a, (3, 3), (2, 1), (1, 1), (1, 1), True)[0], (x,))
    for kw in [dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
               dict(kernel_size=2, divisor_override=3)]:
        assert torch.autograd.gradcheck(lambda a: F.avg_pool2d(a, **kw), (x,))
    assert torch.autograd.gradcheck(
        lambda a: A.AvgPool2dFunction.apply(a, (3, 2), (1, 2), (1, 1), False, True, None), (x,))
    # second order is not supported: the backward ops have no autograd formula.


def test_indices_not_differentiable():
    x = torch.randn(1, 1, 4, 4, requires_grad=True)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    assert y.requires_grad and not i.requires_grad


def test_opcheck():
    x = make((2, 3, 7, 6), torch.float64, "channels_last", requires_grad=True)
    args = ([3, 2], [2, 1], [1, 1], [1, 2], True)
    torch.library.opcheck(ops.max_pool2d, (x, *args))
    y, i = ops.max_pool2d(x.detach(), *args)
    g = make(tuple(y.shape), torch.float64, "sliced")
    torch.library.opcheck(ops.max_pool2d_backward, (g, i, [7, 6], *args))
    avg = ([3, 2], [2, 1], [1, 1], True, False, None)
    torch.library.opcheck(ops.avg_pool2d, (x, *avg))
    torch.library.opcheck(ops.avg_pool2d, (x, [2, 2], [2, 2], [0, 0], False, True, 3))
    y = ops.avg_pool2d(x.detach(), *avg)
    torch.library.opcheck(ops.avg_pool2d_backward, (torch.randn_like(y), [7, 6], *avg))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Sequential(knn.MaxPool2d(2), knn.AvgPool2d(3, 1, 1, count_include_pad=False))
    x = torch.randn(4, 3, 12, 10, requires_grad=True)
    compiled_module_matches_eager(model, x)

    @torch.compile(fullgraph=True)
    def f(a):
        y, i = F.max_pool2d(a, 3, 2, 1, ceil_mode=True, return_indices=True)
        return y.sum() + F.avg_pool2d(a, 2, divisor_override=3).sum(), i

    got, gi = f(x)
    want = TF.max_pool2d(x, 3, 2, 1, ceil_mode=True).sum() + TF.avg_pool2d(x, 2, divisor_override=3).sum()
    check_sum_and_indices(got, gi, want,
                          TF.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)[1], x)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(mode):
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    calls = [lambda: F.max_pool2d(x, 2), lambda: knn.MaxPool2d(3, 1, 1)(x),
             lambda: A.MaxPool2dFunction.apply(x, (2, 2), (2, 2), (0, 0), (1, 1), False)[0]]
    for call in calls:
        n, out = count_saved(call)
        assert n == 1 and out.grad_fn is not None  # indices saved when a grad is needed
        with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
            n, out = count_saved(call)
        assert n == 0 and out.grad_fn is None
    for call in [lambda: F.avg_pool2d(x, 2), lambda: knn.AvgPool2d(2)(x)]:
        n, out = count_saved(call)
        assert n == 0 and out.grad_fn is not None  # avg pooling never saves a tensor
        with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
            _, out = count_saved(call)
        assert out.grad_fn is None
    n, _ = count_saved(lambda: F.max_pool2d(x.detach(), 2))  # no grad needed: nothing saved
    assert n == 0


def test_nn_modules_like_torch():
    x = torch.randn(2, 3, 9, 9)
    for ours, ref in [(knn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
                      (knn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)),
                      (knn.AvgPool2d(3, 2, 1, count_include_pad=False, divisor_override=None),
                       torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
                      (knn.AvgPool2d(2, divisor_override=2), torch.nn.AvgPool2d(2, divisor_override=2))]:
        assert isinstance(ours, type(ref)) and repr(ours) == repr(ref)
        ours.load_state_dict(ref.state_dict())
        assert ours.state_dict().keys() == ref.state_dict().keys()
        a, b = ours(x), ref(x)
        if isinstance(a, tuple):
            torch.testing.assert_close(a[0], b[0])
            assert torch.equal(a[1], b[1])
        else:
            torch.testing.assert_close(a, b)


def test_numpy_path():
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    xn = x.numpy()[:, :, ::-1].transpose(0, 1, 3, 2)  # negative and transposed strides
    xt = torch.from_numpy(xn.copy())
    y, i = pk.max_pool2d(xn, 3, 2, 1, ceil_mode=True)
    ry, ri = TF.max_pool2d(xt, 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(y, ry.numpy())
    np.testing.assert_array_equal(i, ri.numpy())
    y32, i32 = pk.max_pool2d(xn.astype(np.float32), 2, index_dtype=np.int32)
    assert i32.dtype == np.int32 and y32.dtype == np.float32
    g = np.random.randn(*y.shape)
    dx = pk.max_pool2d_backward(g, i, xn.shape, 3, 2, 1, ceil_mode=True)
    xt.requires_grad_()
    (rdx,) = torch.autograd.grad(TF.max_pool2d(xt, 3, 2, 1, ceil_mode=True), xt, torch.from_numpy(g))
    np.testing.assert_allclose(dx, rdx.numpy(), rtol=1e-12, atol=1e-12)
    kw = dict(ceil_mode=True, count_include_pad=False, divisor_override=None)
    ya = pk.avg_pool2d(xn, (3, 2), (2, 2), (1, 1), **kw)
    rya = TF.avg_pool2d(xt, (3, 2), (2, 2), (1, 1), **kw)
    np.testing.assert_allclose(ya, rya.detach().numpy(), rtol=1e-12, atol=1e-12)
    ga = np.random.randn(*ya.shape)
    dxa = pk.avg_pool2d_backward(ga, xn.shape, (3, 2), (2, 2), (1, 1), **kw)
    (rdxa,) = torch.autograd.grad(rya, xt, torch.from_numpy(ga))
    np.testing.assert_allclose(dxa, rdxa.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", ["max", "avg"])
def test_errors(fn):
    pool = F.max_pool2d if fn == "max" else F.avg_pool2d
    x = torch.randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match="pad should be at most half"):
        pool(x, 2, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be greater than zero"):
        pool(x, 0)
    with pytest.raises(ValueError, match="stride must be greater than zero"):
        pool(x, 2, stride=(1, 0))
    with pytest.raises(pk.ShapeError, match="too small"):  # a ValueError
        pool(x, 7)
    with pytest.raises(pk.ShapeError, match="3-D"):
        pool(torch.randn(5, 5), 2)
    with pytest.raises(pk.ShapeError, match="3-D"):
        pool(torch.randn(1, 1, 1, 5, 5), 2)
    with pytest.raises(TypeError):
        pool(torch.randn(1, 2, 4, 4).to(torch.float16), 2)
    with pytest.raises(TypeError):
        pool(x, "2")
    with pytest.raises(TypeError):
        pool(x, (2, 2, 2))
    if fn == "max":
        with pytest.raises(ValueError, match="dilation must be greater than zero"):
            F.max_pool2d(x, 2, dilation=0)
    else:
        with pytest.raises(ValueError, match="divisor_override"):
            F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError):
        (pk.max_pool2d if fn == "max" else pk.avg_pool2d)(x.numpy(), 2, padding=3)
    with pytest.raises(pk.ShapeError):
        (pk.max_pool2d if fn == "max" else pk.avg_pool2d)(x.numpy()[0], 2)


def test_backward_bad_index_raises():
    g = torch.randn(1, 1, 2, 2)
    i = torch.tensor([[[[0, 1], [4, 16]]]])
    with pytest.raises(pk.KernelError, match="indices: value 16"):
        ops.max_pool2d_backward(g, i, [4, 4], [2, 2], [2, 2], [0, 0], [1, 1], False)
    with pytest.raises(pk.ShapeError):  # grad_output of the wrong size for the input
        ops.max_pool2d_backward(g, i, [6, 6], [2, 2], [2, 2], [0, 0], [1, 1], False)
