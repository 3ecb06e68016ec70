"""@@op@@: the custom ops ``pykernels::@@op@@`` and ``pykernels::@@op@@_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.@@op@@(input@@py_params@@@@inplace_sig@@)   like @@torch_functional_doc@@
    nn.@@Module@@(@@nn_sig_doc@@)                 like @@torch_module_doc@@
    autograd.@@Op@@Function.apply(input@@py_args@@)

    @@op@@(x@@py_args@@) -> y                                   (any shape)
    @@op@@_backward(grad_output, @@saved_py@@@@py_args@@) -> grad_input     (from @@saved_doc@@)

``@@op@@_fast`` / ``@@op@@_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
All of it is built from the spec below by _elementwise.elementwise_op.
"""
from __future__ import annotations
@@torch_import@@
from ... import _C
from .._elementwise import @@elementwise_imports@@

_op = elementwise_op(
    "@@op@@", __name__, _C.@@op@@_forward, _C.@@op@@_backward,
    params=[@@param_specs@@], saves="@@saved_py@@",
    torch_functional=@@torch_functional@@, module_base=@@module_base_spec@@, inplace=@@inplace_spec@@,
)
@@op@@, @@op@@_backward = _op.forward, _op.backward
@@op@@_fast, @@op@@_backward_fast = _op.forward_fast, _op.backward_fast
functional_@@op@@, @@Module@@, @@Op@@Function = _op.functional, _op.module, _op.function
