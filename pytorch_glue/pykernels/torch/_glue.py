"""The mechanics shared by every op's glue: torch tensor -> kn_tensor descriptor,
dtype/device mapping, the execution context (CUDA stream), output allocation,
and one call path into ``pykernels._C``.

Nothing here knows about a particular operator.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch

from .. import _C, _shape_error

# torch dtype -> kn_dtype. Every kn_dtype has an entry so that the library
# itself reports "dtype X is not supported" (UnsupportedError, a TypeError).
_DTYPES = {
    torch.float32: _C.FLOAT32, torch.float64: _C.FLOAT64,
    torch.float16: _C.FLOAT16, torch.bfloat16: _C.BFLOAT16,
    torch.int32: _C.INT32, torch.int64: _C.INT64,
    torch.uint8: _C.UINT8, torch.bool: _C.BOOL,
}


def descriptor(t: Optional[torch.Tensor], op: str, name: str):
    """The raw descriptor ``(data_ptr, dtype, device_type, device_id, shape, strides)``
    of ``t`` (storage offset applied, strides in elements), or None for None."""
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{op}: {name}: expected a torch.Tensor, got {type(t).__name__}")
    code = _DTYPES.get(t.dtype)
    if code is None:
        raise TypeError(f"{op}: {name}: dtype {t.dtype} is not supported by libkernels "
                        "(expected torch.float32 or torch.float64)")
    if t.layout != torch.strided:
        raise TypeError(f"{op}: {name}: layout {t.layout} is not supported (expected torch.strided)")
    device = t.device
    if device.type == "cpu":
        dev = (_C.DEVICE_CPU, 0)
    elif device.type == "cuda":
        dev = (_C.DEVICE_CUDA, device.index if device.index is not None else 0)
    else:
        raise TypeError(f"{op}: {name}: device {device} is not supported (expected cpu or cuda)")
    return (t.data_ptr(), code, *dev, tuple(t.shape), tuple(t.stride()))


def _exec_kwargs(tensors) -> dict:
    """stream = torch's current CUDA stream on the device of the first CUDA tensor
    (the library rejects mixed devices itself); CPU calls use the defaults."""
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.device.type == "cuda":
            return {"stream": torch.cuda.current_stream(t.device).cuda_stream}
    return {}


def call(fn, op: str, *leading, **tensors: Optional[torch.Tensor]) -> None:
    """``fn(*leading, *descriptors, stream=...)``: one kernel call, tensors passed by
    their C argument names in C order (``None`` = an absent optional). Outputs are
    written in place; a failing status raises pykernels.KernelError."""
    descs = [descriptor(t, op, name) for name, t in tensors.items()]
    fn(*leading, *descs, **_exec_kwargs(tensors.values()))


def empty(shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
    """An uninitialised output with ``like``'s dtype and device (works on fake tensors)."""
    return torch.empty(tuple(shape), dtype=like.dtype, device=like.device)


def none_output(like: torch.Tensor) -> torch.Tensor:
    """The placeholder returned for an output that was not requested: a 0-element tensor."""
    return torch.empty((0,), dtype=like.dtype, device=like.device)


def expect_dim(t: torch.Tensor, ndim: int, op: str, name: str) -> None:
    """Raise pykernels.ShapeError (a ValueError) unless ``t`` has ``ndim`` dims."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{op}: {name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() != ndim:
        raise _shape_error(f"{op}: {name}: expected {ndim} dims, got shape {tuple(t.shape)}")


def expect_same_shape(a: torch.Tensor, a_name: str, b: torch.Tensor, b_name: str, op: str) -> None:
    """Raise pykernels.ShapeError unless ``a`` and ``b`` have one shape (no broadcasting)."""
    if a.shape != b.shape:
        raise _shape_error(f"{op}: {b_name}: expected the shape of {a_name} {tuple(a.shape)}, "
                           f"got {tuple(b.shape)} (pykernels does not broadcast)")
