"""Strided tensor makers, tolerances and an op-recording dispatch mode shared by the torch
tests."""
import torch
from torch.utils._python_dispatch import TorchDispatchMode

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


# aten ops that would mean torch, not libkernels, did a layer's arithmetic: products,
# attention, normalisation, softmax, activations, dropout (forward and backward).
TORCH_COMPUTE_OPS = ("linear", "addmm", "mm", "bmm", "baddbmm", "matmul", "addmv", "mv",
                     "scaled_dot_product_attention", "_native_multi_head_attention",
                     "_transformer_encoder_layer_fwd", "native_layer_norm", "layer_norm",
                     "native_layer_norm_backward", "softmax", "_softmax", "_safe_softmax",
                     "_softmax_backward_data", "relu", "gelu", "gelu_backward",
                     "threshold_backward", "native_dropout", "dropout", "bernoulli_")


def ops_run(fn):
    """(the set of dispatcher op names -- 'aten.bmm', 'pykernels.linear', ... -- that ran
    while running fn(), fn's result). A TorchDispatchMode sees every op, the custom ops
    of pykernels included (under a mode they are not short-cut by _glue.fast_path)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Record(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.names = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.add(str(getattr(func, "overloadpacket", func)))
            return func(*args, **(kwargs or {}))

    with _Record() as record:
        out = fn()
    return record.names, out


def torch_compute_ops(names):
    """The names among ``names`` (from ops_run) of aten ops that compute a layer:
    TORCH_COMPUTE_OPS and every aten scaled-dot-product / flash / efficient attention."""
    found = set()
    for n in names:
        if not n.startswith("aten."):
            continue
        base = n[len("aten."):]
        if base in TORCH_COMPUTE_OPS or "dot_product" in base or "attention" in base:
            found.add(n)
    return found


class OpLog(TorchDispatchMode):
    """Records the name of every op dispatched while active (and runs it). Active, it
    also makes pykernels' glue take the custom ops instead of its eager shortcuts."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))
