"""An eager fast path for custom ops whose per-call overhead dominates on small shapes.

``torch.library.custom_op`` costs tens of microseconds per call in eager mode (the
dispatcher's trip into Python, the generated autograd.Function, the backward op's own
dispatch), more than the kernel itself for an MLP's layers. ``install(op, fast)`` makes
calls of the CustomOpDef ``op`` first try ``fast(*args, **kwargs)``, a direct
implementation for the plain case only: plain CPU float32/float64 ``torch.Tensor`` (or
``nn.Parameter``) arguments, well-formed shapes, no torch.compile tracing, no dispatch or torch-function
mode, no functorch transform. ``fast`` returns NotImplemented for anything else, and
the call goes through the custom op as before (which also raises the documented errors).
``torch.ops.pykernels.<op>``, opcheck, register_fake and torch.compile see the op
unchanged. The maths and the C entry points are the same on both paths.
"""
from __future__ import annotations

import torch

from ... import _C

_CODES = {torch.float32: _C.FLOAT32, torch.float64: _C.FLOAT64}
_STRIDED = torch.strided
# nn.Parameter: a Tensor subclass without a __torch_function__ of its own.
_PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter)
_CPU_CODE = _C.DEVICE_CPU


def _no_modes() -> bool:
    """No tracing, dispatch/torch-function mode or functorch transform is active."""
    if torch.compiler.is_compiling():
        return False
    if torch._C._is_torch_function_mode_enabled() or torch._C._len_torch_dispatch_stack():
        return False
    return torch._C._functorch.peek_interpreter_stack() is None


def plain(tensors, dtype) -> bool:
    """All of ``tensors`` (None skipped) are plain strided CPU tensors of ``dtype``, a
    dtype libkernels supports, and no mode is active."""
    if dtype not in _CODES:
        return False
    for t in tensors:
        if t is not None and (type(t) not in _PLAIN_TYPES or t.dtype != dtype or not t.is_cpu
                              or t.layout is not _STRIDED):
            return False
    return _no_modes()


def desc(t):
    """The kn_tensor descriptor of a tensor that passed plain() (None for None)."""
    if t is None:
        return None
    return (t.data_ptr(), _CODES[t.dtype], _CPU_CODE, 0, t.shape, t.stride())  # Size: a tuple


def install(op, fast) -> None:
    """Route eager calls of the CustomOpDef ``op`` through ``fast`` first (see above)."""
    base = type(op)

    class _WithEagerFastPath(base):
        def __call__(self, *args, **kwargs):
            result = fast(*args, **kwargs)
            if result is NotImplemented:
                return base.__call__(self, *args, **kwargs)
            return result

    _WithEagerFastPath.__name__ = _WithEagerFastPath.__qualname__ = base.__name__
    op.__class__ = _WithEagerFastPath
