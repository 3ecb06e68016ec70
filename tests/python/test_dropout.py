"""pykernels.torch dropout: mask statistics and determinism, backward, manual_seed
repeatability, eval identity, in place, gradcheck, opcheck, torch.compile, no saved
tensors without grad, nn.Dropout, the NumPy path, errors."""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch.nn as knn
from _helpers import LAYOUTS, count_saved, strided
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import dropout as ops


def run(x, p, seed):
    return ops.dropout(x, p, torch.tensor(seed, dtype=torch.int64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_output_and_backward_from_mask(dtype, layout):
    x = strided((6, 9), dtype, layout, requires_grad=True)
    y, mask = run(x, 0.3, 7)
    assert mask.dtype == torch.bool and mask.shape == x.shape
    torch.testing.assert_close(y, x * mask / 0.7)
    gy = strided((6, 9), dtype, "transposed")
    torch.testing.assert_close(torch.autograd.grad(y, x, gy)[0], gy * mask / 0.7)
    # the mask depends on (seed, shape) only, not on the layout
    _, m2 = run(torch.randn(6, 9, dtype=dtype), 0.3, 7)
    assert torch.equal(mask, m2)


def test_kept_fraction_and_seeds():
    x = torch.ones(400, 500)
    n = x.numel()
    for p in [0.1, 0.5, 0.9]:
        _, m = run(x, p, 123)
        kept = m.sum().item()
        assert abs(kept - n * (1 - p)) < 6 * (n * p * (1 - p)) ** 0.5, (p, kept)
    _, a = run(x, 0.5, 1)
    _, b = run(x, 0.5, 1)
    _, c = run(x, 0.5, 2)
    assert torch.equal(a, b)
    assert (a != c).float().mean() > 0.45


def test_p0_p1_like_torch():
    x = torch.randn(5, 6)
    y, m = run(x, 0.0, 3)
    assert m.all() and torch.equal(y, x)
    y, m = run(x, 1.0, 3)
    assert not m.any() and torch.equal(y, torch.zeros_like(x))
    torch.testing.assert_close(F.dropout(x, 1.0), TF_dropout(x, 1.0))
    assert F.dropout(x, 0.0) is x and TF_dropout(x, 0.0) is x


def TF_dropout(*args, **kwargs):
    return torch.nn.functional.dropout(*args, **kwargs)


def test_manual_seed_repeatability_functional_and_module():
    x = torch.randn(8, 16)
    torch.manual_seed(5)
    a = F.dropout(x, 0.4)
    torch.manual_seed(5)
    b = F.dropout(x, 0.4)
    c = F.dropout(x, 0.4)  # the generator moved on: another mask
    assert torch.equal(a, b) and not torch.equal(b, c)
    m = knn.Dropout(0.4)
    torch.manual_seed(9)
    a = m(x)
    torch.manual_seed(9)
    assert torch.equal(m(x), a)
    kept = (a != 0).float().mean().item()
    assert 0.45 < kept < 0.75
    torch.testing.assert_close(a[a != 0], x[a != 0] / 0.6)


def test_eval_mode_and_training_false_are_identity():
    x = torch.randn(4, 5, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    m = knn.Dropout(0.5).eval()
    assert m(x) is x
    assert F.dropout(torch.empty(0, 3), 0.5) is not None


def test_inplace_like_torch():
    base = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    a = base * 1
    torch.manual_seed(3)
    y = F.dropout(a, 0.5, inplace=True)
    assert y is a
    mask = y != 0
    torch.testing.assert_close(torch.autograd.grad(y.sum(), base)[0], mask.double() * 2)
    leaf = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        F.dropout(leaf, 0.5, inplace=True)
    m = knn.Dropout(0.5, inplace=True)
    t = torch.randn(4, 4)
    assert m(t) is t


def test_gradcheck():
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    seed = torch.tensor(11)
    assert torch.autograd.gradcheck(lambda t: run(t, 0.3, 11)[0], (x,))
    assert torch.autograd.gradcheck(lambda t: A.DropoutFunction.apply(t, 0.3, seed)[0], (x,))
    # functional: same seed each call through manual_seed
    def f(t):
        torch.manual_seed(0)
        return F.dropout(t, 0.3)
    assert torch.autograd.gradcheck(f, (x,))


def test_opcheck():
    x = strided((4, 6), torch.float64, "transposed", requires_grad=True)
    torch.library.opcheck(ops.dropout, (x, 0.25, torch.tensor(5)))
    _, mask = run(x.detach(), 0.25, 5)
    torch.library.opcheck(ops.dropout_backward, (strided((4, 6), torch.float64, "sliced"), mask, 0.25))


def test_compile_fullgraph():
    torch._dynamo.reset()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), knn.Dropout(0.3), torch.nn.Linear(16, 1))
    x = torch.randn(10, 8)
    compiled = torch.compile(model, fullgraph=True)
    loss = compiled(x).sum()
    loss.backward()
    assert model[0].weight.grad is not None
    # the compiled graph draws the seed from torch's generator: repeatable with
    # manual_seed, and with fallback_random its masks equal eager's
    import torch._inductor.config as inductor_config
    with inductor_config.patch(fallback_random=True):
        torch._dynamo.reset()
        f = torch.compile(lambda t: F.dropout(t, 0.5), fullgraph=True)
        t = torch.randn(20, 30)
        torch.manual_seed(4)
        got = f(t)
        torch.manual_seed(4)
        want = F.dropout(t, 0.5)
        torch.testing.assert_close(got, want)
    model.eval()
    torch.testing.assert_close(compiled(x), model(x))


@pytest.mark.parametrize("call", ["functional", "module", "Function"])
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(call, mode):
    fns = {"functional": lambda x: F.dropout(x, 0.5), "module": lambda x: knn.Dropout(0.5)(x),
           "Function": lambda x: A.DropoutFunction.apply(x, 0.5, torch.tensor(1))[0]}
    x = torch.randn(5, 3, requires_grad=True)
    n, out = count_saved(lambda: fns[call](x))
    assert n == 1 and out.grad_fn is not None  # the mask only
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        n, out = count_saved(lambda: fns[call](x))
    assert n == 0 and out.grad_fn is None


def test_nn_module_like_torch():
    ours, ref = knn.Dropout(0.2, inplace=True), torch.nn.Dropout(0.2, inplace=True)
    assert isinstance(ours, torch.nn.Dropout) and repr(ours) == repr(ref)
    assert ours.state_dict().keys() == ref.state_dict().keys()
    ours.load_state_dict(ref.state_dict())


def test_numpy():
    x = np.random.default_rng(0).standard_normal((7, 9))[:, ::2]
    y, mask = pk.dropout(x, 0.4, seed=17)
    y2, mask2 = pk.dropout(np.ascontiguousarray(x), 0.4, seed=17)
    np.testing.assert_array_equal(mask, mask2)
    _, mt = run(torch.from_numpy(np.ascontiguousarray(x)), 0.4, 17)
    np.testing.assert_array_equal(mask, mt.numpy())  # NumPy and torch: one mask
    np.testing.assert_allclose(y, x * mask / 0.6, rtol=1e-15)
    dy = np.ones_like(y)
    np.testing.assert_allclose(pk.dropout_backward(dy, mask, 0.4), mask / 0.6, rtol=1e-15)
    np.testing.assert_allclose(pk.dropout_backward(dy, mask.astype(np.uint8), 0.4), mask / 0.6, rtol=1e-15)
    z = x.copy()
    yz, _ = pk.dropout(z, 0.4, seed=17, out=z)
    assert yz is z
    np.testing.assert_array_equal(z, y)


def test_errors():
    x = torch.randn(3, 4)
    for p in [-0.1, 1.5]:
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)
        with pytest.raises(ValueError, match="between 0 and 1"):
            pk.dropout(x.numpy(), p)
        with pytest.raises(ValueError):
            run(x, p, 1)
    with pytest.raises(pk.ShapeError):
        ops.dropout_backward(torch.randn(3, 4), torch.ones(4, 3, dtype=torch.bool), 0.5)
    with pytest.raises(TypeError):
        pk.dropout_backward(np.ones((2, 2)), np.ones((2, 2)), 0.5)  # float mask
    with pytest.raises(TypeError):
        F.dropout(torch.ones(3, dtype=torch.float16), 0.5)
