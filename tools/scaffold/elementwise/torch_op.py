"""@@op@@: the custom ops ``pykernels::@@op@@`` and ``pykernels::@@op@@_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.@@op@@(input@@py_params@@)   like @@torch_functional_doc@@
    nn.@@Module@@(@@nn_sig_doc@@)                 like @@torch_module_doc@@
    autograd.@@Op@@Function.apply(input@@py_args@@)

    @@op@@(x@@py_args@@) -> y                                   (any shape)
    @@op@@_backward(grad_output, @@saved_py@@@@py_args@@) -> grad_input     (from @@saved_doc@@)

``@@op@@_fast`` / ``@@op@@_backward_fast`` run the kernels without the dispatcher
in plain eager mode (_glue.fast_path); compile, export and opcheck see the ops.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ... import _C
from .. import _registry
from .._glue import call, empty_like, expect_same_shape, fast_path

# ------------------------------------------------------------------ forward


def _@@op@@_outputs(x: Tensor@@py_typed@@) -> Tensor:
    return empty_like(x)


def _@@op@@(x: Tensor@@py_typed@@) -> Tensor:
    """y = @@op@@(x@@doc_params@@), element-wise."""
    y = _@@op@@_outputs(x@@py_args@@)
    call(_C.@@op@@_forward, "pykernels::@@op@@"@@py_convert@@, x=x, y=y)
    return y


@@op@@ = torch.library.custom_op("pykernels::@@op@@", mutates_args=())(_@@op@@)
@@op@@.register_fake(_@@op@@_outputs)

# ----------------------------------------------------------------- backward


def _@@op@@_backward_outputs(grad_output: Tensor, @@saved_py@@: Tensor@@py_typed@@) -> Tensor:
    expect_same_shape(grad_output, "grad_output", @@saved_py@@, "@@saved_py@@", "pykernels::@@op@@_backward")
    return empty_like(grad_output)


def _@@op@@_backward(grad_output: Tensor, @@saved_py@@: Tensor@@py_typed@@) -> Tensor:
    """grad_input = grad_output * d@@op@@/dx, from @@saved_doc@@."""
    dx = _@@op@@_backward_outputs(grad_output, @@saved_py@@@@py_args@@)
    call(_C.@@op@@_backward, "pykernels::@@op@@_backward"@@py_convert@@, dy=grad_output, @@saved@@=@@saved_py@@, dx=dx)
    return dx


@@op@@_backward = torch.library.custom_op("pykernels::@@op@@_backward", mutates_args=())(_@@op@@_backward)
@@op@@_backward.register_fake(_@@op@@_backward_outputs)
@@op@@_backward_fast = fast_path(@@op@@_backward, _@@op@@_backward)

# ----------------------------------------------------------------- autograd
# The scalar parameters live on ctx (they are not tensors); the saved tensor is
# kept only when x needs a gradient, so inference saves nothing.


def setup_context(ctx, inputs, output) -> None:
    (x@@py_unpack@@,) = inputs
    ctx.params = (@@py_args_tuple@@)
    ctx.save_for_backward(@@saved_expr@@ if ctx.needs_input_grad[0] else None)


def backward(ctx, grad_output: Tensor):
    (@@saved_py@@,) = ctx.saved_tensors
    grad = @@op@@_backward_fast(grad_output, @@saved_py@@, *ctx.params) if ctx.needs_input_grad[0] else None
    return (grad,@@none_grads@@)


@@op@@.register_autograd(backward, setup_context=setup_context)
@@op@@_fast = fast_path(@@op@@, _@@op@@, setup_context, backward)

# ------------------------------------------------------------- public API


def functional_@@op@@(input: Tensor@@py_params@@@@inplace_sig@@) -> Tensor:
    """@@op@@(input@@doc_params@@) element-wise, like @@torch_functional_doc@@ (any shape).@@inplace_doc@@"""
@@inplace_body@@


functional_@@op@@.__name__ = functional_@@op@@.__qualname__ = "@@op@@"


class @@Module@@(@@module_base@@):
    """@@nn_doc@@ on libkernels. Any shape."""
@@module_init@@
    def forward(self, input: Tensor) -> Tensor:
        return functional_@@op@@(input@@module_args@@@@module_inplace@@)


class @@Op@@Function(torch.autograd.Function):
    """y = @@op@@(input@@doc_params@@), any shape; backward from @@saved_doc@@."""

    @staticmethod
    def forward(input: Tensor@@py_params@@) -> Tensor:
        return @@op@@(input@@py_convert@@)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add(
    "@@op@@", functional=functional_@@op@@, module=@@Module@@, function=@@Op@@Function,
    elementwise=_registry.Elementwise(
        forward=@@op@@, backward=@@op@@_backward, params={@@py_params_dict@@},
        saves="@@saved_py@@", torch_functional=@@torch_functional@@),
)
