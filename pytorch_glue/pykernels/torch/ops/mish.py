"""mish: the custom ops ``pykernels::mish`` and ``pykernels::mish_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.mish(input, inplace: bool = False)   like torch.nn.functional.mish
    nn.Mish()                 like torch.nn.Mish
    autograd.MishFunction.apply(input)

    mish(x) -> y                                   (any shape)
    mish_backward(grad_output, x) -> grad_input     (from its input x)

``mish_fast`` / ``mish_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import elementwise_op

_op = elementwise_op(
    "mish", __name__, _C.mish_forward, _C.mish_backward,
    params=[], saves="x",
    torch_functional=torch.nn.functional.mish, module_base=torch.nn.Mish, inplace=True,
)
mish, mish_backward = _op.forward, _op.backward
mish_fast, mish_backward_fast = _op.forward_fast, _op.backward_fast
functional_mish, Mish, MishFunction = _op.functional, _op.module, _op.function
