"""silu: the custom ops ``pykernels::silu`` and ``pykernels::silu_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.silu(input, inplace: bool = False)   like torch.nn.functional.silu
    nn.SiLU()                 like torch.nn.SiLU
    autograd.SiluFunction.apply(input)

    silu(x) -> y                                   (any shape)
    silu_backward(grad_output, x) -> grad_input     (from its input x)

``silu_fast`` / ``silu_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import elementwise_op

_op = elementwise_op(
    "silu", __name__, _C.silu_forward, _C.silu_backward,
    params=[], saves="x",
    torch_functional=torch.nn.functional.silu, module_base=torch.nn.SiLU, inplace=True,
)
silu, silu_backward = _op.forward, _op.backward
silu_fast, silu_backward_fast = _op.forward_fast, _op.backward_fast
functional_silu, SiLU, SiluFunction = _op.functional, _op.module, _op.function
