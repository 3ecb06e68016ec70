"""Strided tensor makers and tolerances shared by the torch tests."""
import torch

LAYOUTS = ["contiguous", "transposed", "sliced"]


def strided(shape, dtype, layout, device="cpu", requires_grad=False):
    """A tensor of ``shape`` whose memory layout is ``layout``:
    contiguous; transposed (last two dims swapped in memory, or reversed for 1-D: a
    sliced view); sliced (every other element of a bigger buffer in the last dim)."""
    shape = tuple(shape)
    if layout == "contiguous" or len(shape) == 0:
        t = torch.randn(shape, dtype=dtype, device=device)
    elif layout == "transposed" and len(shape) >= 2:
        t = torch.randn(shape[:-2] + (shape[-1], shape[-2]), dtype=dtype, device=device)
        t = t.transpose(-1, -2)
    else:  # sliced (also the 1-D "transposed")
        t = torch.randn(shape[:-1] + (2 * shape[-1] + 1,), dtype=dtype, device=device)
        t = t[..., 1::2]
    assert t.shape == shape
    return t.requires_grad_(requires_grad)


def tol(dtype):
    """assert_close tolerances: float32 GEMMs sum in a different order than torch's."""
    return dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)


def count_saved(fn):
    """(number of tensors autograd saved while running fn(), fn's result)."""
    packed = []
    with torch.autograd.graph.saved_tensors_hooks(lambda x: packed.append(x) or x, lambda x: x):
        out = fn()
    return len(packed), out
