"""pykernels.torch.nn: torch.nn mirrors, state_dict, torch.compile, and no saved tensors
under no_grad / inference_mode."""
import contextlib

import pytest
import torch

from _helpers import count_saved

import pykernels.torch.nn as knn
from pykernels.torch import autograd as A
from pykernels.torch import functional as F


def test_same_init_and_signature_as_torch():
    torch.manual_seed(3)
    ours = knn.Linear(5, 4, bias=True, device="cpu", dtype=torch.float64)
    torch.manual_seed(3)
    ref = torch.nn.Linear(5, 4, bias=True, device="cpu", dtype=torch.float64)
    assert [n for n, _ in ours.named_parameters()] == ["weight", "bias"]
    for (_, a), (_, b) in zip(ours.named_parameters(), ref.named_parameters()):
        assert torch.equal(a, b)
    assert knn.Linear(3, 2, bias=False).bias is None
    assert knn.ReLU(inplace=True).inplace
    assert knn.MSELoss(reduction="sum").reduction == "sum"
    assert knn.MSELoss(size_average=False).reduction == "sum"


def test_state_dict_round_trip():
    ours, ref = knn.Linear(6, 3), torch.nn.Linear(6, 3)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 6)
    torch.testing.assert_close(ours(x), ref(x))
    ours2, ref2 = knn.Linear(6, 3), torch.nn.Linear(6, 3)
    ref2.load_state_dict(ours2.state_dict())
    torch.testing.assert_close(ours2(x), ref2(x))
    assert ours.state_dict().keys() == ref.state_dict().keys()


def _models(dtype=torch.float32):
    torch.manual_seed(1)
    ours = torch.nn.Sequential(knn.Linear(8, 16), knn.ReLU(), knn.Linear(16, 4)).to(dtype)
    torch.manual_seed(1)
    ref = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).to(dtype)
    return ours, ref


def test_model_training_step_matches_torch():
    ours, ref = _models(torch.float64)
    x, t = torch.randn(10, 8, dtype=torch.float64), torch.randn(10, 4, dtype=torch.float64)
    lo, lr = knn.MSELoss()(ours(x), t), torch.nn.MSELoss()(ref(x), t)
    torch.testing.assert_close(lo, lr)
    lo.backward()
    lr.backward()
    for a, b in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(a.grad, b.grad)


def test_compile_fullgraph_matches_eager():
    """torch.compile(fullgraph=True) with the default (inductor) backend: a graph break
    or an op without a fake kernel fails here."""
    torch._dynamo.reset()
    model, _ = _models()
    loss_fn = knn.MSELoss()
    x, t = torch.randn(10, 8), torch.randn(10, 4)

    def step(m):
        m.zero_grad()
        loss = loss_fn(m(x), t)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in m.parameters()]

    eager_loss, eager_grads = step(model)
    compiled = torch.compile(model, fullgraph=True)
    comp_loss, comp_grads = step(compiled)
    torch.testing.assert_close(comp_loss, eager_loss)
    for a, b in zip(comp_grads, eager_grads):
        torch.testing.assert_close(a, b)

    # The functional loss and the Function classes also compile without graph breaks.
    @torch.compile(fullgraph=True)
    def f(a, w, target):
        y = A.ReLUFunction.apply(A.LinearFunction.apply(a, w, None))
        return F.mse_loss(y, target, reduction="sum")

    w = torch.randn(4, 8, requires_grad=True)
    got = f(x, w, t)
    want = torch.nn.functional.mse_loss(torch.relu(x @ w.T), t, reduction="sum")
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.autograd.grad(got, w)[0], torch.autograd.grad(want, w)[0])


CALLS = {
    "linear": lambda x, w: F.linear(x, w, None),
    "LinearFunction": lambda x, w: A.LinearFunction.apply(x, w, None),
    "relu": lambda x, w: F.relu(x),
    "ReLUFunction": lambda x, w: A.ReLUFunction.apply(x),
    "mse_loss": lambda x, w: F.mse_loss(x, torch.ones(5, 3)),
    "MSELossFunction": lambda x, w: A.MSELossFunction.apply(x, torch.ones(5, 3)),
    "model": lambda x, w: knn.MSELoss()(knn.Linear(3, 2)(x), torch.zeros(5, 2)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(name, mode):
    x = torch.randn(5, 3, requires_grad=True)
    w = torch.randn(4, 3, requires_grad=True)
    n_grad, out = count_saved(lambda: CALLS[name](x, w))
    assert n_grad > 0 and out.grad_fn is not None  # the check below can fail
    ctx = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
    with ctx:
        n, out = count_saved(lambda: CALLS[name](x, w))
    assert n == 0 and out.grad_fn is None and not out.requires_grad


def test_saves_only_what_backward_needs():
    x = torch.randn(5, 3)
    w = torch.randn(4, 3, requires_grad=True)
    n, _ = count_saved(lambda: F.linear(x, w))  # only dW needed: x saved, w not
    assert n == 1
    n, _ = count_saved(lambda: F.linear(x.requires_grad_(), w.detach()))  # only dX: w saved
    assert n == 1
