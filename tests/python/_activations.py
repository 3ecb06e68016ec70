"""Checks shared by the activation tests (test_sigmoid.py, test_tanh.py,
test_leaky_relu.py, test_gelu.py): each op's file lists its variants (ours vs
torch's, as functions of one tensor) and runs these on them.

    check_parity          forward and backward vs torch, strided input and grad_output
    check_specials        large magnitudes, +-0, NaN vs torch
    check_gradcheck       torch.autograd.gradcheck of the functional and the Function
    check_nothing_saved   one tensor saved with grad, none under no_grad / inference_mode
    check_module          nn module: torch's constructor, repr, state_dict, forward
    check_compile         torch.compile(fullgraph=True) forward and backward vs eager
"""
import torch

from _helpers import count_saved, strided

DTYPES = [torch.float32, torch.float64]
TF = torch.nn.functional


def close(dtype):
    return dict(rtol=2e-6, atol=2e-6) if dtype == torch.float32 else dict(rtol=1e-13, atol=1e-13)


def check_parity(ours, ref, layout, dtype):
    for ndim in (1, 3):
        shape = tuple(torch.randint(1, 7, (ndim,)).tolist())
        x = (3 * strided(shape, dtype, layout)).requires_grad_()
        y, want = ours(x), ref(x)
        torch.testing.assert_close(y, want, **close(dtype))
        gy = strided(shape, dtype, "transposed")
        torch.testing.assert_close(torch.autograd.grad(y, x, gy)[0],
                                   torch.autograd.grad(want, x, gy)[0], **close(dtype))


SPECIALS = [-1e4, -100.0, -90.0, -20.0, 0.0, -0.0, 20.0, 100.0, 1e4, float("nan")]


def check_specials(ours, ref):
    x = torch.tensor(SPECIALS)
    for dtype in DTYPES:
        torch.testing.assert_close(ours(x.to(dtype)), ref(x.to(dtype)), equal_nan=True,
                                   **close(dtype))


def check_gradcheck(ours, function):
    x = torch.randn(3, 4, dtype=torch.float64)
    x = (x + 0.1 * x.sign()).requires_grad_()  # away from leaky_relu's kink
    assert torch.autograd.gradcheck(ours, (x,))
    assert torch.autograd.gradcheck(function, (x,))
    # second order is not supported (the backward ops have no autograd): not checked


def check_nothing_saved(call, mode):
    x = torch.randn(5, 3, requires_grad=True)
    n_grad, out = count_saved(lambda: call(x))
    assert n_grad == 1 and out.grad_fn is not None  # exactly one tensor saved with grad
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        n, out = count_saved(lambda: call(x))
    assert n == 0 and out.grad_fn is None and not out.requires_grad


def check_module(ours_cls, ref_cls, kwargs):
    ours, ref = ours_cls(**kwargs), ref_cls(**kwargs)
    assert isinstance(ours, ref_cls) and repr(ours) == repr(ref)
    ours.load_state_dict(ref.state_dict())
    ref.load_state_dict(ours.state_dict())
    assert ours.state_dict().keys() == ref.state_dict().keys()
    x = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x.clone()), ref(x.clone()))
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), ours_cls(**kwargs)).double()
    model(x).sum().backward()


def check_compile(f):
    """f(x) -> a scalar; compiled with fullgraph=True, forward and gradient vs eager."""
    torch._dynamo.reset()
    x = torch.randn(5, 7, requires_grad=True)
    want = f(x)
    gwant = torch.autograd.grad(want, x)[0]
    compiled = torch.compile(f, fullgraph=True)
    got = compiled(x)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.autograd.grad(got, x)[0], gwant)
