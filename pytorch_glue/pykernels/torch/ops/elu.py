"""elu: the custom ops ``pykernels::elu`` and ``pykernels::elu_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.elu(input, alpha: float = 1.0, inplace: bool = False)   like torch.nn.functional.elu
    nn.ELU(alpha=1.0)                 like torch.nn.ELU
    autograd.EluFunction.apply(input, alpha)

    elu(x, alpha) -> y                                   (any shape)
    elu_backward(grad_output, x, alpha) -> grad_input     (from its input x)

``elu_fast`` / ``elu_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import Param, elementwise_op

_op = elementwise_op(
    "elu", __name__, _C.elu_forward, _C.elu_backward,
    params=[Param("alpha", float, 1.0)], saves="x",
    torch_functional=torch.nn.functional.elu, module_base=torch.nn.ELU, inplace=True,
)
elu, elu_backward = _op.forward, _op.backward
elu_fast, elu_backward_fast = _op.forward_fast, _op.backward_fast
functional_elu, ELU, EluFunction = _op.functional, _op.module, _op.function
