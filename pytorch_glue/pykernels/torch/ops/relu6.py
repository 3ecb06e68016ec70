"""relu6: the custom ops ``pykernels::relu6`` and ``pykernels::relu6_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.relu6(input, inplace: bool = False)   like torch.nn.functional.relu6
    nn.ReLU6()                 like torch.nn.ReLU6
    autograd.Relu6Function.apply(input)

    relu6(x) -> y                                   (any shape)
    relu6_backward(grad_output, output) -> grad_input     (from its output y)

``relu6_fast`` / ``relu6_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import elementwise_op

_op = elementwise_op(
    "relu6", __name__, _C.relu6_forward, _C.relu6_backward,
    params=[], saves="output",
    torch_functional=torch.nn.functional.relu6, module_base=torch.nn.ReLU6, inplace=True,
)
relu6, relu6_backward = _op.forward, _op.backward
relu6_fast, relu6_backward_fast = _op.forward_fast, _op.backward_fast
functional_relu6, ReLU6, Relu6Function = _op.functional, _op.module, _op.function
