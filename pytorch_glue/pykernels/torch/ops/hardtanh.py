"""hardtanh: the custom ops ``pykernels::hardtanh`` and ``pykernels::hardtanh_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False)   like torch.nn.functional.hardtanh
    nn.Hardtanh(min_val=-1.0, max_val=1.0)                 like torch.nn.Hardtanh
    autograd.HardtanhFunction.apply(input, min_val, max_val)

    hardtanh(x, min_val, max_val) -> y                                   (any shape)
    hardtanh_backward(grad_output, output, min_val, max_val) -> grad_input     (from its output y)

``hardtanh_fast`` / ``hardtanh_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import Param, elementwise_op

_op = elementwise_op(
    "hardtanh", __name__, _C.hardtanh_forward, _C.hardtanh_backward,
    params=[Param("min_val", float, -1.0), Param("max_val", float, 1.0)], saves="output",
    torch_functional=torch.nn.functional.hardtanh, module_base=torch.nn.Hardtanh, inplace=True,
)
hardtanh, hardtanh_backward = _op.forward, _op.backward
hardtanh_fast, hardtanh_backward_fast = _op.forward_fast, _op.backward_fast
functional_hardtanh, Hardtanh, HardtanhFunction = _op.functional, _op.module, _op.function
