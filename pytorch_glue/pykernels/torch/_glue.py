"""The mechanics shared by every op's glue: torch tensor -> kn_tensor descriptor,
dtype/device mapping, the execution context (CUDA stream), output allocation,
and one call path into ``pykernels._C``.

Nothing here knows about a particular operator.
"""
from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

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


_STRIDED = torch.strided
_CPU = (_C.DEVICE_CPU, 0)
_Tensor = torch.Tensor


def descriptor(t: Optional[torch.Tensor], op: str, name: str):
    """The raw descriptor ``(data_ptr, dtype, device_type, device_id, shape, strides)``
    of ``t`` (storage offset applied, strides in elements), or None for None."""
    if t is None:
        return None
    # The common case first, with as few Python objects as possible (torch.Size is a
    # tuple, which the binding accepts as it is).
    try:
        code = _DTYPES[t.dtype]
        if t.is_cpu and t.layout is _STRIDED:
            return (t.data_ptr(), code, *_CPU, t.shape, t.stride())
    except (KeyError, AttributeError):
        pass
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
        dev = _CPU
    elif device.type == "cuda":
        dev = (_C.DEVICE_CUDA, device.index if device.index is not None else 0)
    else:
        raise TypeError(f"{op}: {name}: device {device} is not supported (expected cpu or cuda)")
    return (t.data_ptr(), code, *dev, t.shape, t.stride())


def _exec_kwargs(tensors) -> dict:
    """stream = torch's current CUDA stream on the device of the first CUDA tensor
    (the library rejects mixed devices itself); CPU calls use the defaults."""
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.is_cuda:
            return {"stream": torch.cuda.current_stream(t.device).cuda_stream}
    return {}


# The binding reads plain CPU torch tensors itself (bindings/common.hpp, TensorArg):
# exactly torch.Tensor or nn.Parameter, strided, of a dtype in this table.
_C.set_torch_types(torch.Tensor, torch.nn.Parameter, torch.strided, _DTYPES)
_NotPlainTensor = _C.NotPlainTensor


def call(fn, op: str, *leading, **tensors: Optional[torch.Tensor]) -> None:
    """``fn(*leading, *tensors, stream=...)``: one kernel call, tensors passed by their C
    argument names in C order (``None`` = an absent optional). Outputs are written in
    place; a failing status raises pykernels.KernelError.

    Plain CPU tensors go to the binding as they are (it reads them); if any is not
    (CUDA, a subclass, another dtype or layout, not a tensor), the binding raises
    NotPlainTensor before running anything and the call is made again with descriptors
    built here, with the CUDA stream and this layer's error messages."""
    try:
        fn(*leading, *tensors.values())
        return
    except _NotPlainTensor:
        pass
    descs = [descriptor(t, op, name) for name, t in tensors.items()]
    if all(d is None or d[2] == _C.DEVICE_CPU for d in descs):
        fn(*leading, *descs)
    else:
        fn(*leading, *descs, **_exec_kwargs(tensors.values()))


# ------------------------------------------------------------- eager fast path
#
# A custom op call goes through torch's dispatcher: OpOverload.__call__, the
# Autograd kernel that torch.library generates (an autograd.Function built per
# call), a redispatch, the CompositeExplicitAutograd Python kernel with its
# aliasing checks, and torch._disable_dynamo; on a 1-element tensor that is
# 25-50 us per op, 20-50x the kernel. In plain eager mode none of it does
# anything, so `fast_path` runs the op's own implementation directly (inside
# an autograd.Function that shares the op's setup_context/backward when a
# gradient is needed). Anything else (torch.compile / export tracing, fake or
# meta tensors, tensor subclasses, dispatch or torch-function modes, functorch
# transforms, jit tracing) takes the custom op, so compile, opcheck and every
# torch.library mechanism see the op exactly as before.

_Parameter = torch.nn.Parameter
_is_compiling = torch.compiler.is_compiling
_len_dispatch_modes = torch._C._len_torch_dispatch_stack
_len_function_modes = torch._C._len_torch_function_stack
_functorch_active = torch._C._are_functorch_transforms_active
_tracing_state = torch._C._get_tracing_state
_grad_enabled = torch.is_grad_enabled
_any_requires_grad = torch._C._any_requires_grad
_c_apply = torch._C._FunctionBase.__dict__["apply"]


def plain_eager(args) -> bool:
    """True when a call with ``args`` needs nothing from the dispatcher: eager mode,
    no modes or transforms, and every tensor a plain torch.Tensor (or Parameter)."""
    if _is_compiling():  # first: Dynamo folds it to True and traces nothing below
        return False
    for a in args:
        if isinstance(a, _Tensor):
            tp = type(a)
            if tp is not _Tensor and tp is not _Parameter:
                return False
    return not (_len_dispatch_modes() or _len_function_modes() or _functorch_active()
                or _tracing_state() is not None)


def _load_torch_ext():
    """``pykernels._torch_ext`` (torch_ext/: the C++ autograd nodes) when this process can use it:
    the build made it (its Python imported torch), it was built against this very torch
    version (torch's C++ ABI changes between releases), and PYKERNELS_TORCH_EXT is not
    "0". Else None, and the Python autograd.Function runs instead."""
    if os.environ.get("PYKERNELS_TORCH_EXT", "1") == "0":
        return None
    build_dir = os.environ.get("PYKERNELS_BUILD_DIR")
    try:
        if build_dir:
            from .._dev import load_build_tree_module
            load_build_tree_module(build_dir, "_torch_ext", required=False)
        from .. import _torch_ext
    except ImportError:
        return None
    return _torch_ext if _torch_ext.torch_version == torch.__version__ else None


torch_ext = _load_torch_ext()


def elementwise_node(name: str, n_params: int, saves_output: bool, backward_fast: Callable):
    """fast_path's ``node`` for an element-wise op whose C entry points are
    ``kn_<name>_forward(<n_params doubles>, x, y, ex)`` and
    ``kn_<name>_backward(<n_params doubles>, dy, x or y, dx, ex)`` (y when saves_output),
    with ``backward_fast(grad_output, saved, *params)`` its Python backward: the one
    C++ node of torch_ext/elementwise.cpp, which finds the entry points by name."""
    def make(fallback):
        if n_params > torch_ext.max_params:
            return None
        return torch_ext.ElementwiseNode(name, n_params, saves_output, fallback, backward_fast)
    return make


def fast_path(op, impl, setup_context=None, backward=None, node=None, no_grad_impl=None):
    """A callable equal to ``op(*args)`` (positional arguments only) that calls
    ``impl`` (the op's real kernel body) directly in plain eager mode.

    With ``setup_context``/``backward`` (the op's register_autograd formula), a call
    that needs a gradient runs ``impl`` as the forward of an autograd.Function using
    them; without, a call that needs a gradient (e.g. a backward op under
    create_graph=True) takes the custom op.

    ``no_grad_impl``: the body of the plain eager calls that need no gradient, where the op
    can skip what only a backward needs (default ``impl``); it returns what ``impl`` does.

    ``node``: ``make(fallback)`` -> the op's C++ node from pykernels._torch_ext (or
    None), called only where that module is in use: plain eager calls then go to the
    node, which runs the forward and records a C++ autograd node when a gradient is
    needed (~8 us less per forward+backward than the Python Function), and hands
    ``fallback`` (the Python eager path below) every call it does not run itself
    (torch_ext/common.hpp). ``elementwise_node`` makes one for element-wise ops.
    """
    apply = None
    if backward is not None:
        name = op._qualname.split("::")[-1] if hasattr(op, "_qualname") else impl.__name__
        cls = type(f"{name}_eager", (torch.autograd.Function,), {
            "forward": staticmethod(impl),
            "setup_context": staticmethod(setup_context),
            "backward": staticmethod(backward),
        })
        # The C-level apply: torch.autograd.Function.apply adds only functorch and
        # default-argument handling, which plain_eager already rules out / which
        # setup_context does not need.
        apply = _c_apply.__get__(None, cls)

    body = impl if no_grad_impl is None else no_grad_impl

    def eager(*args):
        if _grad_enabled() and _any_requires_grad(*args):
            return apply(*args) if apply is not None else op(*args)
        return body(*args)

    cpp = node(eager) if node is not None and torch_ext is not None else None
    if cpp is None:
        def run(*args):  # eager's body inline: one Python call less on every op's hot path
            if not plain_eager(args):
                return op(*args)
            if _grad_enabled() and _any_requires_grad(*args):
                return apply(*args) if apply is not None else op(*args)
            return body(*args)
    else:
        def run(*args):
            if not plain_eager(args):
                return op(*args)
            return cpp(*args)

    run.__name__ = run.__qualname__ = f"{getattr(impl, '__name__', 'op')}_fast"
    run.__doc__ = impl.__doc__
    run.node = cpp  # the C++ node, or None (run_in_place uses it)
    return run


def run_in_place(forward_fast, input: torch.Tensor, *params):
    """``input`` overwritten with ``forward_fast(input, *params)`` and returned: the
    ``inplace=True`` of an element-wise op whose backward reads its output.

    In plain eager mode the op's C++ node writes it in place (the kernel's output is its
    input; a recorded autograd node marks input dirty, as torch's relu_ does). Elsewhere,
    and where the node declines (a leaf or a view that needs a gradient, a layout the
    kernel cannot write in place), the result is computed out of place and copied in: the
    same values and gradients, but two more passes over the tensor and, in every
    backward, a zero-filled gradient for the overwritten input added into the other
    (torch's CopyBackwards). resnet_small's 35 in-place ReLUs per 5 training steps spent
    ~45 of ~750 ms there; its training went from 1.06-1.08x torch's time to 0.99 (Intel
    Xeon model 167)."""
    node = getattr(forward_fast, "node", None)
    if node is not None and plain_eager((input,)):
        out = node.in_place(input, *params)
        if out is not None:
            return out
    return input.copy_(forward_fast(input, *params))


def mark_non_differentiable(ctx, *outputs: torch.Tensor) -> None:
    """``ctx.mark_non_differentiable(*outputs)`` without torch's zero-filled gradients for
    them. By default autograd hands the backward a zeros tensor for every output that got
    no gradient, non-differentiable ones included: for max_pool2d's int64 indices at
    64x6x28x28 a 600 KB fill, 40 of the 146 us of its backward (Intel Xeon model 167).
    With materialisation off those arguments are None, and so may be the gradient of a
    differentiable output (gradcheck passes None): the op's backward returns None
    gradients then. Every op with a non-differentiable output uses it, small ones too: a
    scalar's zeros are one more allocation per backward, and that one (nll_loss's
    total_weight) moved glibc's heap top enough that every 16 MB gradient of nll_loss
    4096x1000 was page-faulted in anew (1500 faults a call, backward 1.77x torch's time).
    An op's backward that must see every output's gradient builds the zeros itself
    (rnn.py)."""
    ctx.mark_non_differentiable(*outputs)
    ctx.set_materialize_grads(False)


def empty(shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
    """An uninitialised output with ``like``'s dtype and device (works on fake tensors).
    ``new_empty(*sizes)`` costs half of ``torch.empty(tuple, dtype=, device=)`` (0.8 vs
    1.8 us), which shows at MLP sizes where a whole layer is ~10 us."""
    return like.new_empty(*shape) if len(shape) else like.new_empty(())


def empty_like(t: torch.Tensor) -> torch.Tensor:
    """An uninitialised output of ``t``'s shape, dtype and device, cheaper than
    ``empty(t.shape, like=t)``; it has t's strides where t is dense (a transposed input
    gives a transposed output, as torch's element-wise ops do), else it is contiguous.
    Works on fake tensors (the fake kernels use it too, so strides agree)."""
    return torch.empty_like(t)


def none_output(like: torch.Tensor) -> torch.Tensor:
    """The placeholder returned for an output that was not requested: a 0-element tensor
    (``new_empty``: 0.8 us, half of ``torch.empty((0,), dtype=, device=)``)."""
    return like.new_empty(0)


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
