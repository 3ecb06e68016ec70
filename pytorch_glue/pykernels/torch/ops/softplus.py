"""softplus: the custom ops ``pykernels::softplus`` and ``pykernels::softplus_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.softplus(input, beta: float = 1.0, threshold: float = 20.0)   like torch.nn.functional.softplus
    nn.Softplus(beta=1.0, threshold=20.0)                 like torch.nn.Softplus
    autograd.SoftplusFunction.apply(input, beta, threshold)

    softplus(x, beta, threshold) -> y                                   (any shape)
    softplus_backward(grad_output, x, beta, threshold) -> grad_input     (from its input x)

``softplus_fast`` / ``softplus_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import Param, elementwise_op

_op = elementwise_op(
    "softplus", __name__, _C.softplus_forward, _C.softplus_backward,
    params=[Param("beta", float, 1.0), Param("threshold", float, 20.0)], saves="x",
    torch_functional=torch.nn.functional.softplus, module_base=torch.nn.Softplus, inplace=False,
)
softplus, softplus_backward = _op.forward, _op.backward
softplus_fast, softplus_backward_fast = _op.forward_fast, _op.backward_fast
functional_softplus, Softplus, SoftplusFunction = _op.functional, _op.module, _op.function
