"""hardsigmoid: the custom ops ``pykernels::hardsigmoid`` and ``pykernels::hardsigmoid_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.hardsigmoid(input, inplace: bool = False)   like torch.nn.functional.hardsigmoid
    nn.Hardsigmoid()                 like torch.nn.Hardsigmoid
    autograd.HardsigmoidFunction.apply(input)

    hardsigmoid(x) -> y                                   (any shape)
    hardsigmoid_backward(grad_output, x) -> grad_input     (from its input x)

``hardsigmoid_fast`` / ``hardsigmoid_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations

import torch

from ... import _C
from .._elementwise import elementwise_op

_op = elementwise_op(
    "hardsigmoid", __name__, _C.hardsigmoid_forward, _C.hardsigmoid_backward,
    params=[], saves="x",
    torch_functional=torch.nn.functional.hardsigmoid, module_base=torch.nn.Hardsigmoid, inplace=True,
)
hardsigmoid, hardsigmoid_backward = _op.forward, _op.backward
hardsigmoid_fast, hardsigmoid_backward_fast = _op.forward_fast, _op.backward_fast
functional_hardsigmoid, Hardsigmoid, HardsigmoidFunction = _op.functional, _op.module, _op.function
