"""Checks shared by the layer_norm and group_norm tests (test_layer_norm.py,
test_group_norm.py): each test builds its op's tensors, modules and calls and asks these
to compare them with torch."""
import torch

from _helpers import count_saved, strided


def tol(dtype):
    """assert_close tolerances of the normalisation ops (statistics in double)."""
    return dict(rtol=2e-5, atol=2e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)


def grads(y, params, gy):
    """d(y . gy)/d(each of params that is not None and requires grad)."""
    params = [p for p in params if p is not None and p.requires_grad]
    return torch.autograd.grad(y, params, gy)


def assert_forward_backward_close(y, ref, params, dtype):
    """y against torch's ref, then the gradients of both for params (input, weight, bias) under
    one non-contiguous (transposed) grad_output."""
    torch.testing.assert_close(y, ref, **tol(dtype))
    gy = strided(tuple(y.shape), dtype, "transposed")  # non-contiguous grad_output
    for g, r in zip(grads(y, params, gy), grads(ref, params, gy)):
        torch.testing.assert_close(g, r, **tol(dtype))


def assert_compile_matches_eager(model, x):
    """model(x) and the gradients of sum(out^2) for x and the parameters: the same under
    torch.compile(fullgraph=True) as in eager mode."""

    def step(m):
        out = m(x)
        grads = torch.autograd.grad((out * out).sum(), [x, *m.parameters()])
        return out.detach(), grads

    eager = step(model)
    compiled = step(torch.compile(model, fullgraph=True))
    torch.testing.assert_close(compiled[0], eager[0])
    for a, b in zip(compiled[1], eager[1]):
        torch.testing.assert_close(a, b)


def assert_nothing_saved_without_grad(calls, mode):
    """Each call saves tensors (at least input, mean, rstd) with grad, none under mode
    ("no_grad" or "inference_mode")."""
    for call in calls:
        n, out = count_saved(call)
        assert n >= 3 and out.grad_fn is not None
        with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
            n, out = count_saved(call)
        assert n == 0 and out.grad_fn is None


def assert_module_like_torch(ours, ref, ref2, x):
    """ours (loaded from ref's state_dict) and ref2 (loaded from ours'): the same state_dict
    keys, and the same output and gradients (x and parameters) as ref on x."""
    assert ours.state_dict().keys() == ref.state_dict().keys()
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(ref2(x), ref(x))
    gy = torch.randn(tuple(x.shape))
    got = torch.autograd.grad(ours(x), [x, *ours.parameters()], gy)
    want = torch.autograd.grad(ref(x), [x, *ref.parameters()], gy)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
