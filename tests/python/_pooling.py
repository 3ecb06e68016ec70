"""Inputs and tolerances shared by the pooling tests (test_pool2d.py,
test_adaptive_pool2d.py): (N, C, H, W) tensors in the memory layouts pooling
kernels take different paths for."""
import torch

from _helpers import strided

DTYPES = [torch.float32, torch.float64]


# Pooling sums few terms in the same order as torch: tighter than _helpers.tol.
def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)


def make(shape, dtype, layout, requires_grad=False):
    """contiguous | channels_last | sliced (every other row and column) | transposed (H, W)."""
    if layout == "channels_last":
        t = torch.randn(shape, dtype=dtype).to(memory_format=torch.channels_last)
    elif layout == "sliced":
        n, c, h, w = shape
        t = torch.randn(n, c, 2 * h, 2 * w + 1, dtype=dtype)[:, :, ::2, 1::2]
    elif layout == "transposed":
        t = strided(shape, dtype, "transposed")
    else:
        t = torch.randn(shape, dtype=dtype)
    assert t.shape == tuple(shape)
    return t.requires_grad_(requires_grad)


LAYOUTS = ["contiguous", "channels_last", "sliced", "transposed"]


def compiled_module_matches_eager(model, x):
    """model under torch.compile(fullgraph=True): the output and the input gradient of
    sum(out^2) equal eager's."""

    def step(m):
        out = m(x)
        (g,) = torch.autograd.grad((out * out).sum(), x)
        return out.detach(), g

    eager = step(model)
    compiled = step(torch.compile(model, fullgraph=True))
    for a, b in zip(compiled, eager):
        torch.testing.assert_close(a, b)


def check_sum_and_indices(got, got_indices, want, want_indices, x):
    """A compiled function's scalar and max-pool indices against torch's, and the
    scalar's gradient with respect to x."""
    torch.testing.assert_close(got, want)
    assert torch.equal(got_indices, want_indices)
    torch.testing.assert_close(torch.autograd.grad(got, x)[0], torch.autograd.grad(want, x)[0])
