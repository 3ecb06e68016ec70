"""celu: the custom ops ``pykernels::celu`` and ``pykernels::celu_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.celu(input, alpha: float = 1.0, inplace: bool = False)   like torch.nn.functional.celu
    nn.CELU(alpha=1.0)                 like torch.nn.CELU
    autograd.CeluFunction.apply(input, alpha)

    celu(x, alpha) -> y                                   (any shape)
    celu_backward(grad_output, x, alpha) -> grad_input     (from its input x)

``celu_fast`` / ``celu_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import Param, elementwise_op

_op = elementwise_op(
    "celu", __name__, _C.celu_forward, _C.celu_backward,
    params=[Param("alpha", float, 1.0)], saves="x",
    torch_functional=torch.nn.functional.celu, module_base=torch.nn.CELU, inplace=True,
)
celu, celu_backward = _op.forward, _op.backward
celu_fast, celu_backward_fast = _op.forward_fast, _op.backward_fast
functional_celu, CELU, CeluFunction = _op.functional, _op.module, _op.function
