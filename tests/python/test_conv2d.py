"""pykernels conv2d: parity with torch (every option, strided inputs and grads), gradcheck,
opcheck, torch.compile, nothing saved without grad, nn.Conv2d, the NumPy path, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import count_saved, tol
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import conv2d as ops

DTYPES = [torch.float32, torch.float64]

# (input shape, weight shape, kwargs)
OPTIONS = {
    "defaults": ((2, 3, 8, 7), (4, 3, 3, 3), {}),
    "stride_int": ((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=2)),
    "stride_pair": ((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=(2, 3))),
    "padding_int": ((2, 2, 6, 5), (3, 2, 3, 3), dict(padding=1)),
    "padding_pair": ((2, 2, 6, 5), (3, 2, 3, 3), dict(padding=(2, 0))),
    "padding_valid": ((2, 2, 6, 5), (3, 2, 3, 2), dict(padding="valid")),
    "padding_same": ((2, 2, 6, 5), (3, 2, 3, 3), dict(padding="same")),
    "padding_same_even_kernel": ((2, 2, 6, 5), (3, 2, 4, 2), dict(padding="same")),
    "padding_same_dilated_even": ((2, 2, 9, 8), (3, 2, 2, 4), dict(padding="same", dilation=(3, 2))),
    "dilation": ((2, 3, 11, 10), (2, 3, 3, 3), dict(dilation=(2, 3), padding=1)),
    "groups": ((2, 4, 7, 7), (6, 2, 3, 3), dict(groups=2, padding=1)),
    "depthwise": ((2, 4, 7, 7), (8, 1, 3, 3), dict(groups=4, stride=2)),
    "pointwise": ((3, 6, 5, 4), (4, 6, 1, 1), {}),
    "everything": ((2, 4, 12, 11), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1),
                                                       groups=2)),
    # float32 3x3 stride 1 with >= 16 channels (and > 32 out): Winograd F(2x2, 3x3) for
    # y, dx and dw (kernels/cpu/conv2d_winograd.hpp); partial tiles, padding 0..2
    "winograd": ((2, 16, 9, 7), (40, 16, 3, 3), dict(padding=1)),
    "winograd_pad0": ((2, 24, 8, 11), (36, 24, 3, 3), {}),
    "winograd_pad_same": ((1, 32, 14, 14), (48, 32, 3, 3), dict(padding="same")),
    "winograd_pad2": ((2, 16, 6, 5), (33, 16, 3, 3), dict(padding=(2, 1))),
}


def strided4(shape, dtype, layout, requires_grad=False):
    """A 4-D tensor laid out as contiguous, channels_last, sliced (every other element of
    each spatial dim) or permuted (batch innermost)."""
    if layout == "contiguous":
        t = torch.randn(shape, dtype=dtype)
    elif layout == "channels_last":
        t = torch.randn(shape, dtype=dtype).to(memory_format=torch.channels_last)
    elif layout == "sliced":
        n, c, h, w = shape
        t = torch.randn(n, c, 2 * h, 2 * w + 1, dtype=dtype)[:, :, ::2, 1::2]
    else:  # permuted
        t = torch.randn(tuple(shape[1:]) + (shape[0],), dtype=dtype).permute(3, 0, 1, 2)
    assert t.shape == tuple(shape)
    return t.requires_grad_(requires_grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_parity_with_torch(name, bias, dtype):
    xs, ws, kw = OPTIONS[name]
    x = torch.randn(xs, dtype=dtype, requires_grad=True)
    w = torch.randn(ws, dtype=dtype, requires_grad=True)
    b = torch.randn(ws[0], dtype=dtype, requires_grad=True) if bias else None
    y, ref = F.conv2d(x, w, b, **kw), TF.conv2d(x, w, b, **kw)
    assert y.shape == ref.shape
    torch.testing.assert_close(y, ref, **tol(dtype))
    gy = strided4(ref.shape, dtype, "sliced")  # non-contiguous grad_output
    params = [x, w] + ([b] if bias else [])
    for g, r in zip(torch.autograd.grad(y, params, gy), torch.autograd.grad(ref, params, gy)):
        torch.testing.assert_close(g, r, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["channels_last", "sliced", "permuted"])
def test_strided_inputs_and_grads(layout, dtype):
    x = strided4((3, 4, 9, 8), dtype, layout, requires_grad=True)
    w = strided4((6, 2, 3, 2), dtype, layout, requires_grad=True)
    b = torch.randn(12, dtype=dtype)[::2].requires_grad_()
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    y, ref = F.conv2d(x, w, b, **kw), TF.conv2d(x, w, b, **kw)
    torch.testing.assert_close(y, ref, **tol(dtype))
    gy = strided4(ref.shape, dtype, layout)
    for g, r in zip(torch.autograd.grad(y, (x, w, b), gy), torch.autograd.grad(ref, (x, w, b), gy)):
        torch.testing.assert_close(g, r, **tol(dtype))


def test_unbatched_input_like_torch():
    x = torch.randn(3, 8, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    for kw in ({}, dict(padding="same"), dict(stride=2, padding=(1, 0))):
        y, ref = F.conv2d(x, w, **kw), TF.conv2d(x, w, **kw)
        assert y.shape == ref.shape and y.dim() == 3
        torch.testing.assert_close(y, ref)
        g = torch.randn_like(ref)
        for a, r in zip(torch.autograd.grad(y, (x, w), g), torch.autograd.grad(ref, (x, w), g)):
            torch.testing.assert_close(a, r)


def test_only_needed_grads_and_placeholders():
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    (gw,) = torch.autograd.grad(F.conv2d(x, w).sum(), w)
    torch.testing.assert_close(gw, torch.autograd.grad(TF.conv2d(x, w).sum(), w)[0])
    x.requires_grad_()
    (gx,) = torch.autograd.grad(F.conv2d(x, w.detach(), stride=2).sum(), x)
    torch.testing.assert_close(gx, torch.autograd.grad(TF.conv2d(x, w.detach(), stride=2).sum(), x)[0])


@pytest.mark.parametrize("kw", [dict(), dict(stride=(2, 1), padding=(1, 2)), dict(dilation=2, groups=2),
                                dict(padding="same", dilation=(1, 2))],
                         ids=["defaults", "stride_padding", "dilation_groups", "same"])
def test_gradcheck(kw):
    x = torch.randn(2, 4, 7, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 2 if kw.get("groups") else 4, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: F.conv2d(*a, **kw), (x, w, b))


def test_gradcheck_autograd_function():
    x = torch.randn(2, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(A.Conv2dFunction.apply, (x, w, b, 2, 1, 1, 1))
    assert torch.autograd.gradcheck(A.Conv2dFunction.apply, (x, w))  # trailing args left out
    y = A.Conv2dFunction.apply(x, w, b, (1, 2), (0, 1))
    torch.testing.assert_close(y, TF.conv2d(x, w, b, (1, 2), (0, 1)))


def test_opcheck_conv2d():
    for dtype in DTYPES:
        x = strided4((2, 4, 7, 6), dtype, "channels_last", requires_grad=True)
        w = torch.randn(6, 2, 3, 2, dtype=dtype, requires_grad=True)
        b = torch.randn(6, dtype=dtype, requires_grad=True)
        torch.library.opcheck(ops.conv2d, (x, w, b, [2, 1], [1, 0], [1, 2], 2))
        torch.library.opcheck(ops.conv2d, (x.detach(), w.detach(), None, [1, 1], [0, 0], [1, 1], 2))


@pytest.mark.parametrize("needs", [(True, True, True), (True, False, False), (False, True, False),
                                   (False, False, True)])
def test_opcheck_conv2d_backward(needs):
    x, w = torch.randn(2, 4, 7, 6, dtype=torch.float64), torch.randn(6, 2, 3, 2, dtype=torch.float64)
    args = ([2, 1], [1, 0], [1, 2], 2)
    dy = strided4(ops.conv2d(x, w, None, *args).shape, torch.float64, "sliced")
    torch.library.opcheck(ops.conv2d_backward, (dy, x, w, *args, *needs))
    dx, dw, db = ops.conv2d_backward(dy, x, w, *args, *needs)
    assert [t.numel() > 0 for t in (dx, dw, db)] == list(needs)


def test_compile_fullgraph_matches_eager():
    torch.manual_seed(0)
    model = torch.nn.Sequential(knn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(),
                                knn.Conv2d(4, 3, (2, 3), stride=2, padding="valid", groups=1))
    x = torch.randn(3, 2, 9, 8)

    def step(m):
        m.zero_grad()
        y = m(x)
        y.square().sum().backward()
        return y.detach(), [p.grad.clone() for p in m.parameters()]

    eager_y, eager_g = step(model)
    comp_y, comp_g = step(torch.compile(model, fullgraph=True))
    torch.testing.assert_close(comp_y, eager_y, rtol=1e-5, atol=1e-5)
    for a, b in zip(comp_g, eager_g):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)

    @torch.compile(fullgraph=True)
    def same(x, w):
        return F.conv2d(x, w, padding="same")

    w = torch.randn(3, 2, 4, 4)
    torch.testing.assert_close(same(x, w), TF.conv2d(x, w, padding="same"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("call", ["functional", "Conv2dFunction", "module"])
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(call, mode):
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    m = knn.Conv2d(3, 4, 3)
    fn = {"functional": lambda: F.conv2d(x, m.weight, m.bias),
          "Conv2dFunction": lambda: A.Conv2dFunction.apply(x, m.weight, m.bias),
          "module": lambda: m(x)}[call]
    n, out = count_saved(fn)
    assert n > 0 and out.grad_fn is not None  # the check below can fail
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        n, out = count_saved(fn)
    assert n == 0 and out.grad_fn is None


def test_saves_only_what_backward_needs():
    x, w = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3)
    assert count_saved(lambda: F.conv2d(x, w.requires_grad_()))[0] == 1  # dW only: x
    assert count_saved(lambda: F.conv2d(x.requires_grad_(), w.detach()))[0] == 1  # dX only: w
    assert count_saved(lambda: F.conv2d(x, w.requires_grad_()))[0] == 2


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_module_matches_torch_and_state_dict(padding_mode):
    kw = dict(stride=(1, 2), padding=(2, 1), dilation=1, groups=2, bias=True, padding_mode=padding_mode,
              dtype=torch.float64)
    torch.manual_seed(1)
    ours = knn.Conv2d(4, 6, (3, 2), **kw)
    torch.manual_seed(1)
    ref = torch.nn.Conv2d(4, 6, (3, 2), **kw)
    assert isinstance(ours, torch.nn.Conv2d)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[k], v)  # same init from the same seed
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn_like(p))
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 4, 7, 8, dtype=torch.float64, requires_grad=True)
    y, want = ours(x), ref(x)
    torch.testing.assert_close(y, want)
    g = torch.randn_like(want)
    got = torch.autograd.grad(y, [x, *ours.parameters()], g)
    exp = torch.autograd.grad(want, [x, *ref.parameters()], g)
    for a, b in zip(got, exp):
        torch.testing.assert_close(a, b)
    ref.load_state_dict(ours.state_dict())  # and back


def test_module_same_padding_and_unbatched():
    torch.manual_seed(2)
    ours = knn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), padding_mode="reflect")
    ref = torch.nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), padding_mode="reflect")
    ref.load_state_dict(ours.state_dict())
    for shape in [(2, 2, 9, 8), (2, 9, 8)]:
        x = torch.randn(shape)
        torch.testing.assert_close(ours(x), ref(x), **tol(torch.float32))


# ------------------------------------------------------------------ NumPy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_path(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8)).astype(dtype).transpose(0, 1, 3, 2)  # strided view
    w = rng.standard_normal((6, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    xt, wt, bt = (torch.from_numpy(np.ascontiguousarray(a)).requires_grad_() for a in (x, w, b))
    ref = TF.conv2d(xt, wt, bt, **kw)
    t = tol(torch.float32 if dtype == np.float32 else torch.float64)
    y = pk.conv2d(x, w, b, **kw)
    np.testing.assert_allclose(y, ref.detach().numpy(), rtol=t["rtol"], atol=t["atol"])
    out = np.empty(ref.shape, dtype)
    assert pk.conv2d(x, w, b, out=out, **kw) is out
    np.testing.assert_allclose(out, y, rtol=0, atol=0)
    gy = rng.standard_normal(ref.shape).astype(dtype)
    want = torch.autograd.grad(ref, (xt, wt, bt), torch.from_numpy(gy))
    got = pk.conv2d_backward(gy, x, w, **kw)
    for a, r in zip(got, want):
        np.testing.assert_allclose(a, r.numpy(), rtol=t["rtol"], atol=t["atol"])
    dx, dw, db = pk.conv2d_backward(gy, x, w, **kw, need_weight=False, need_bias=False, num_threads=1)
    assert dw is None and db is None
    np.testing.assert_allclose(dx, got[0], rtol=t["rtol"], atol=t["atol"])
    valid = pk.conv2d(x, w, None, padding="valid", groups=2)
    np.testing.assert_array_equal(valid, pk.conv2d(x, w, None, padding=0, groups=2))


def test_numpy_errors():
    x, w = np.zeros((1, 2, 5, 5), np.float32), np.zeros((3, 2, 3, 3), np.float32)
    with pytest.raises(pk.ShapeError, match="w: expected shape"):
        pk.conv2d(x, np.zeros((3, 1, 3, 3), np.float32))  # C/groups mismatch
    with pytest.raises(pk.ShapeError, match="larger than the padded input"):
        pk.conv2d(x, np.zeros((3, 2, 6, 3), np.float32))
    with pytest.raises(pk.ShapeError, match="not divisible by p->groups"):
        pk.conv2d(x, np.zeros((3, 1, 3, 3), np.float32), groups=2)
    with pytest.raises(pk.KernelError, match="p->stride"):
        pk.conv2d(x, w, stride=0)
    with pytest.raises(pk.KernelError, match="p->padding"):
        pk.conv2d(x, w, padding=-1)
    with pytest.raises(pk.ShapeError, match="4 dims"):
        pk.conv2d(x[0], w)
    with pytest.raises(ValueError, match="padding"):
        pk.conv2d(x, w, padding="same")
    with pytest.raises(TypeError, match="stride"):
        pk.conv2d(x, w, stride=(1, 2, 3))
    with pytest.raises(pk.UnsupportedError):
        pk.conv2d(x.astype(np.float16), w.astype(np.float16))
    with pytest.raises(pk.ShapeError, match="out"):
        pk.conv2d(x, w, out=np.empty((1, 3, 2, 2), np.float32))


# ------------------------------------------------------------------ torch errors


def test_torch_errors():
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(pk.ShapeError, match="input"):
        F.conv2d(torch.randn(5, 5), w)
    with pytest.raises(pk.ShapeError, match="weight"):
        F.conv2d(x, torch.randn(3, 2, 3))
    with pytest.raises(pk.ShapeError, match="larger than the padded input"):
        F.conv2d(x, torch.randn(3, 2, 7, 3))
    with pytest.raises(pk.ShapeError, match="not divisible"):
        F.conv2d(x, torch.randn(3, 1, 3, 3), groups=2)
    with pytest.raises(pk.ShapeError, match="w: expected shape"):
        F.conv2d(x, torch.randn(3, 1, 3, 3))
    with pytest.raises(pk.KernelError, match="p->dilation"):
        F.conv2d(x, w, dilation=0)
    with pytest.raises(pk.KernelError, match="p->groups"):
        F.conv2d(x, w, groups=0)
    with pytest.raises(TypeError):
        F.conv2d(x.to(torch.int32), w.to(torch.int32))
    with pytest.raises(TypeError, match="stride"):
        F.conv2d(x, w, stride=(1, 2, 3))
    with pytest.raises(pk.KernelError, match="dtype"):
        F.conv2d(x, w.double())


# ------------------------------------------------------------------ CUDA


@pytest.mark.cuda
@pytest.mark.skipif(not (torch.cuda.is_available() and pk.has_cuda()),
                    reason="needs a CUDA device and a CUDA build of libkernels")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["everything", "depthwise", "padding_same_dilated_even"])
def test_cuda_parity(name, dtype):
    xs, ws, kw = OPTIONS[name]
    x = strided4(xs, dtype, "channels_last").cuda().requires_grad_()
    w = torch.randn(ws, dtype=dtype, device="cuda", requires_grad=True)
    b = torch.randn(ws[0], dtype=dtype, device="cuda", requires_grad=True)
    y, ref = F.conv2d(x, w, b, **kw), TF.conv2d(x, w, b, **kw)
    t = dict(rtol=2e-3, atol=2e-3) if dtype == torch.float32 else tol(dtype)  # TF32 allowed
    torch.testing.assert_close(y, ref, **t)
    gy = strided4(ref.shape, dtype, "sliced").cuda()
    for g, r in zip(torch.autograd.grad(y, (x, w, b), gy), torch.autograd.grad(ref, (x, w, b), gy)):
        torch.testing.assert_close(g, r, **t)
