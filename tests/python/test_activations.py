"""pykernels.torch sigmoid, tanh, leaky_relu, gelu: parity with torch (strided inputs and
grad_outputs), in place, gradcheck, opcheck, torch.compile, no saved tensors without grad,
nn modules, the NumPy path, errors."""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import LAYOUTS, strided
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import activations as ops

DTYPES = [torch.float32, torch.float64]
TF = torch.nn.functional

# name -> (ours, torch's), each a function of one tensor
OPS = {
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu_0.3": (lambda t: F.leaky_relu(t, 0.3), lambda t: TF.leaky_relu(t, 0.3)),
    "leaky_relu_neg": (lambda t: F.leaky_relu(t, negative_slope=-1.5),
                       lambda t: TF.leaky_relu(t, negative_slope=-1.5)),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh")),
}
FUNCTIONS = {
    "sigmoid": A.SigmoidFunction.apply,
    "tanh": A.TanhFunction.apply,
    "leaky_relu": lambda t: A.LeakyReLUFunction.apply(t, 0.2),
    "gelu": A.GELUFunction.apply,
    "gelu_tanh": lambda t: A.GELUFunction.apply(t, "tanh"),
}


def close(dtype):
    return dict(rtol=2e-6, atol=2e-6) if dtype == torch.float32 else dict(rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_parity_forward_backward(name, layout, dtype):
    ours, ref = OPS[name]
    for ndim in (1, 3):
        shape = tuple(torch.randint(1, 7, (ndim,)).tolist())
        x = (3 * strided(shape, dtype, layout)).requires_grad_()
        y, want = ours(x), ref(x)
        torch.testing.assert_close(y, want, **close(dtype))
        gy = strided(shape, dtype, "transposed")
        torch.testing.assert_close(torch.autograd.grad(y, x, gy)[0],
                                   torch.autograd.grad(want, x, gy)[0], **close(dtype))


def test_large_magnitudes_and_specials():
    x = torch.tensor([-1e4, -100.0, -90.0, -20.0, 0.0, -0.0, 20.0, 100.0, 1e4, float("nan")])
    for name in ["sigmoid", "tanh", "leaky_relu", "gelu", "gelu_tanh"]:
        ours, ref = OPS[name]
        for dtype in DTYPES:
            torch.testing.assert_close(ours(x.to(dtype)), ref(x.to(dtype)), equal_nan=True,
                                       **close(dtype))
    # sigmoid keeps its relative precision far out on the negative side (float: expf(90)
    # overflows in the naive formula)
    torch.testing.assert_close(F.sigmoid(torch.tensor([-90.0]))[0].double(),
                               torch.exp(torch.tensor(-90.0, dtype=torch.float64)), rtol=1e-4, atol=0)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradcheck(name):
    x = torch.randn(3, 4, dtype=torch.float64)
    x = (x + 0.1 * x.sign()).requires_grad_()  # away from leaky_relu's kink
    fn = OPS[name][0] if name in OPS else None
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradcheck(FUNCTIONS[name], (x,))
    # second order is not supported (the backward ops have no autograd): not checked


def test_gradcheck_strided_and_slopes():
    x = strided((4, 3), torch.float64, "transposed")
    x = (x + 0.1 * x.sign()).requires_grad_()
    for slope in [0.0, -0.7, 2.0]:
        assert torch.autograd.gradcheck(lambda t: F.leaky_relu(t, slope), (x,))


def test_leaky_relu_inplace_like_torch():
    base = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    a, b = base * 2, base * 2
    ya = F.leaky_relu(a, 0.1, inplace=True)
    yb = TF.leaky_relu(b, 0.1, inplace=True)
    assert ya is a
    torch.testing.assert_close(ya, yb)
    torch.testing.assert_close(torch.autograd.grad((ya * ya).sum(), base)[0],
                               torch.autograd.grad((yb * yb).sum(), base)[0])
    # slope 0 in place: backward from the result is still exact
    a, b = base * 1, base * 1
    ga = torch.autograd.grad(F.leaky_relu(a, 0.0, inplace=True).sum(), base)[0]
    gb = torch.autograd.grad(TF.leaky_relu(b, 0.0, inplace=True).sum(), base)[0]
    torch.testing.assert_close(ga, gb)


def test_leaky_relu_inplace_negative_slope_backward_raises_like_torch():
    base = torch.randn(6, requires_grad=True)
    with pytest.raises(RuntimeError, match="negative slope"):
        TF.leaky_relu(base * 1, -0.5, inplace=True).sum().backward()
    with pytest.raises(RuntimeError, match="negative slope"):
        F.leaky_relu(base * 1, -0.5, inplace=True).sum().backward()
    # forward alone (no backward) is fine, as in torch
    with torch.no_grad():
        t = torch.randn(6)
        torch.testing.assert_close(F.leaky_relu(t.clone(), -0.5, inplace=True), TF.leaky_relu(t, -0.5))


def test_leaky_relu_inplace_on_leaf_raises_like_torch():
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.leaky_relu(x, inplace=True)


def test_opcheck():
    for dtype in DTYPES:
        x = strided((3, 4), dtype, "transposed", requires_grad=True)
        g = strided((3, 4), dtype, "sliced")
        y = torch.sigmoid(x.detach())
        torch.library.opcheck(ops.sigmoid, (x,))
        torch.library.opcheck(ops.sigmoid_backward, (g, y))
        torch.library.opcheck(ops.tanh, (x,))
        torch.library.opcheck(ops.tanh_backward, (g, torch.tanh(x.detach())))
        torch.library.opcheck(ops.leaky_relu, (x, 0.2))
        torch.library.opcheck(ops.leaky_relu, (x, 0.2, True))
        torch.library.opcheck(ops.leaky_relu_backward, (g, x.detach(), -0.2, False))
        torch.library.opcheck(ops.leaky_relu_backward, (g, x.detach(), 0.2, True))
        for approximate in ["none", "tanh"]:
            torch.library.opcheck(ops.gelu, (x, approximate))
            torch.library.opcheck(ops.gelu_backward, (g, x.detach(), approximate))


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()

    def f(x):
        a = F.sigmoid(x) + F.tanh(x)
        b = F.leaky_relu(x, 0.1) * F.gelu(x) + F.gelu(x, approximate="tanh")
        return (a * b).sum()

    x = torch.randn(5, 7, requires_grad=True)
    want = f(x)
    gwant = torch.autograd.grad(want, x)[0]
    compiled = torch.compile(f, fullgraph=True)
    got = compiled(x)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.autograd.grad(got, x)[0], gwant)


def count_saved(fn):
    packed = []

    def pack(t):
        packed.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return len(packed), out


CALLS = dict(**{k: v[0] for k, v in OPS.items()}, **{k + "_Function": v for k, v in FUNCTIONS.items()})


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(name, mode):
    x = torch.randn(5, 3, requires_grad=True)
    n_grad, out = count_saved(lambda: CALLS[name](x))
    assert n_grad == 1 and out.grad_fn is not None  # exactly one tensor saved with grad
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        n, out = count_saved(lambda: CALLS[name](x))
    assert n == 0 and out.grad_fn is None and not out.requires_grad


MODULES = [
    (knn.Sigmoid, torch.nn.Sigmoid, {}),
    (knn.Tanh, torch.nn.Tanh, {}),
    (knn.LeakyReLU, torch.nn.LeakyReLU, {"negative_slope": 0.2}),
    (knn.LeakyReLU, torch.nn.LeakyReLU, {"negative_slope": 0.2, "inplace": True}),
    (knn.GELU, torch.nn.GELU, {}),
    (knn.GELU, torch.nn.GELU, {"approximate": "tanh"}),
]


@pytest.mark.parametrize("ours_cls,ref_cls,kwargs", MODULES)
def test_nn_modules_like_torch(ours_cls, ref_cls, kwargs):
    ours, ref = ours_cls(**kwargs), ref_cls(**kwargs)
    assert isinstance(ours, ref_cls) and repr(ours) == repr(ref)
    ours.load_state_dict(ref.state_dict())
    ref.load_state_dict(ours.state_dict())
    assert ours.state_dict().keys() == ref.state_dict().keys()
    x = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x.clone()), ref(x.clone()))
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), ours_cls(**kwargs)).double()
    model(x).sum().backward()


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "leaky_relu", "gelu"])
def test_numpy(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6))[:, ::2].T  # strided
    dy = rng.standard_normal((3, 5))
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    if name == "gelu":
        for approximate in ["none", "tanh"]:
            want = TF.gelu(xt, approximate=approximate)
            np.testing.assert_allclose(pk.gelu(x, approximate), want.detach().numpy(), rtol=1e-13)
            np.testing.assert_allclose(pk.gelu_backward(dy, x, approximate),
                                       torch.autograd.grad(want, xt, torch.from_numpy(dy))[0].numpy(),
                                       rtol=1e-12, atol=1e-14)
        return
    if name == "leaky_relu":
        want = TF.leaky_relu(xt, 0.3)
        y = pk.leaky_relu(x, 0.3)
        dx = pk.leaky_relu_backward(dy, x, 0.3)
        np.testing.assert_array_equal(pk.leaky_relu_backward(dy, y, 0.3, True), dx)
    else:
        want = getattr(torch, name)(xt)
        y = getattr(pk, name)(x)
        dx = getattr(pk, name + "_backward")(dy, y)
    np.testing.assert_allclose(y, want.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(dx, torch.autograd.grad(want, xt, torch.from_numpy(dy))[0].numpy(),
                               rtol=1e-13, atol=1e-15)
    # out= in place, float32
    x32 = x.astype(np.float32)
    y32 = getattr(pk, name)(x32.copy())
    assert y32.dtype == np.float32
    z = x32.copy()
    assert getattr(pk, name)(z, out=z) is z
    np.testing.assert_array_equal(z, y32)


def test_errors():
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="approximate"):
        pk.gelu(x.numpy(), "fast")
    with pytest.raises(pk.ShapeError):
        ops.sigmoid_backward(torch.randn(3, 4), torch.randn(4, 3))
    with pytest.raises(pk.ShapeError):
        ops.gelu_backward(torch.randn(3, 4), torch.randn(2, 4), "none")
    with pytest.raises(TypeError):
        F.sigmoid(torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError):
        pk.tanh(np.ones(3, dtype=np.float16))
    with pytest.raises(pk.KernelError, match="negative_slope"):
        F.leaky_relu(x, float("nan"))
    with pytest.raises(pk.ShapeError):
        pk.sigmoid(np.ones((2, 3)), out=np.empty((3, 2)))
    with pytest.raises(TypeError):
        pk.tanh([1.0, 2.0])
