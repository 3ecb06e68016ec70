"""hardswish: the custom ops ``pykernels::hardswish`` and ``pykernels::hardswish_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.hardswish(input, inplace: bool = False)   like torch.nn.functional.hardswish
    nn.Hardswish()                 like torch.nn.Hardswish
    autograd.HardswishFunction.apply(input)

    hardswish(x) -> y                                   (any shape)
    hardswish_backward(grad_output, x) -> grad_input     (from its input x)

``hardswish_fast`` / ``hardswish_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import elementwise_op

_op = elementwise_op(
    "hardswish", __name__, _C.hardswish_forward, _C.hardswish_backward,
    params=[], saves="x",
    torch_functional=torch.nn.functional.hardswish, module_base=torch.nn.Hardswish, inplace=True,
)
hardswish, hardswish_backward = _op.forward, _op.backward
hardswish_fast, hardswish_backward_fast = _op.forward_fast, _op.backward_fast
functional_hardswish, Hardswish, HardswishFunction = _op.functional, _op.module, _op.function
