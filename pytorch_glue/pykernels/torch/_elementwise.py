"""The torch glue of an element-wise op with scalar parameters, built from a short
spec: ``make new-op`` (tools/scaffold/elementwise/torch_op.py) writes an op's
module as a docstring, one ``elementwise_op(...)`` call and the names it binds.

    _op = elementwise_op(
        "celu", __name__, _C.celu_forward, _C.celu_backward,
        params=[Param("alpha", float, 1.0)], saves="x",
        torch_functional=torch.nn.functional.celu, module_base=torch.nn.CELU, inplace=True)

builds, for ``<op>``:

  the custom ops    pykernels::<op>(Tensor x, *params) -> Tensor and
                    pykernels::<op>_backward(Tensor grad_output, Tensor x|output, *params),
                    with fake kernels, and register_autograd on the forward (the
                    parameters live on ctx; the saved tensor is kept only when x needs
                    a gradient, so inference saves nothing)
  the fast paths    <op>_fast / <op>_backward_fast (_glue.fast_path): the kernels
                    without the dispatcher in plain eager mode
  the public API    functional (named ``<op>``, a real signature with the parameters'
                    defaults and ``inplace`` where torch's function takes it), the nn
                    module (a subclass of torch's, passing its attributes, or a
                    torch.nn.Module with the parameters as attributes), and
                    ``<Op>Function`` (a torch.autograd.Function on the custom op)

and registers them with ``_registry.add`` (an ``_registry.Elementwise`` entry for
the shared tests and the benchmark).
"""
from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor

from . import _registry
from ._glue import call, elementwise_node, empty_like, expect_same_shape, fast_path, run_in_place

# Python type -> the schema type torch.library.infer_schema gives an annotation.
_SCHEMA_TYPES = {float: "float", int: "SymInt", bool: "bool"}


@dataclass(frozen=True)
class Param:
    """A scalar parameter, in the order of the C signature."""
    name: str
    type: type      # float (a C double), int (int64_t) or bool (int32_t 0/1)
    default: Any

    def __post_init__(self):
        if self.type not in _SCHEMA_TYPES:
            raise TypeError(f"Param {self.name}: type {self.type!r} is not float, int or bool")
        object.__setattr__(self, "default", self.type(self.default))


@dataclass(frozen=True)
class ElementwiseOp:
    """What elementwise_op builds; an op module binds each under its public name."""
    forward: Callable          # <op>: the custom op pykernels::<op>
    backward: Callable         # <op>_backward: the custom op pykernels::<op>_backward
    forward_fast: Callable     # <op>_fast
    backward_fast: Callable    # <op>_backward_fast
    functional: Callable       # functional_<op> (__name__ "<op>")
    module: type               # the nn module class
    function: type             # <Op>Function
    setup_context: Callable    # the autograd formula the forward op registers
    backward_formula: Callable


def camel(op: str) -> str:
    return "".join(w.capitalize() for w in op.split("_"))


def _define(name: str, params: Sequence[Param], extra: str, body: str, namespace: dict,
            defaults: tuple, home: str, doc: str) -> Callable:
    """``def <name>(input, <params><extra>): return <body>`` with annotations and
    ``defaults``: a real Python function, so help() and inspect show its signature
    and a call binds its arguments as fast as a hand-written one."""
    sig = "".join(f", {p.name}: {p.type.__name__}" for p in params)
    src = f"def {name}(input: Tensor{sig}{extra}) -> Tensor:\n    return {body}\n"
    ns = {"Tensor": Tensor, **namespace}
    exec(src, ns)  # noqa: S102 -- the source is built above from identifiers only
    fn = ns[name]
    fn.__defaults__ = defaults
    fn.__module__, fn.__doc__ = home, doc
    return fn


def elementwise_op(op: str, home: str, c_forward: Callable, c_backward: Callable, *,
                   params: Sequence[Param] = (), saves: str = "x",
                   torch_functional: Optional[Callable] = None,
                   module_base: Optional[type] = None,
                   module_attrs: Optional[Sequence[str]] = None,
                   inplace: bool = False) -> ElementwiseOp:
    """The torch glue of the element-wise op ``op``; registers it and returns its parts.

    home: the op module's ``__name__`` (the classes' and functions' ``__module__``).
    c_forward / c_backward: ``_C.<op>_forward`` / ``_C.<op>_backward``, called as
        ``(*params, x=, y=)`` and ``(*params, dy=, x= | y=, dx=)``.
    params: the scalar parameters, in C order. saves: what the backward takes besides
        grad_output, "x" (the input) or "output" (the forward's output y).
    torch_functional: torch's function to compare with (None: torch has none).
    module_base: torch's nn class to subclass (its forward passes ``module_attrs``,
        default the parameters' names, then ``self.inplace`` when ``inplace``); None:
        a torch.nn.Module taking the parameters.
    inplace: the functional takes ``inplace=`` (as torch's does): computed out of place,
        then copied into the input.
    """
    if saves not in ("x", "output"):
        raise ValueError(f"elementwise_op {op}: saves={saves!r}, expected 'x' or 'output'")
    params = tuple(params)
    names = [p.name for p in params]
    defaults = tuple(p.default for p in params)
    nones = (None,) * len(params)
    qual, qual_bwd = f"pykernels::{op}", f"pykernels::{op}_backward"
    doc_params = ("; " + ", ".join(names)) if names else ""
    saved_doc = "its input x" if saves == "x" else "its output y"
    schema_params = "".join(f", {_SCHEMA_TYPES[p.type]} {p.name}" for p in params)
    saved_arg = "x" if saves == "x" else "y"  # the C argument's name

    # ------------------------------------------------------------------ forward
    # The kernels take the scalars as they come: the schema types them for the custom
    # ops, and the functional and the Function convert them (float(alpha)) first.
    def outputs(x, *params):
        return empty_like(x)

    def impl(x, *params):
        y = empty_like(x)
        call(c_forward, qual, *params, x=x, y=y)
        return y

    impl.__name__ = impl.__qualname__ = f"_{op}"
    impl.__doc__ = f"y = {op}(x{doc_params}), element-wise."
    forward = torch.library.custom_op(qual, impl, mutates_args=(),
                                      schema=f"(Tensor x{schema_params}) -> Tensor")
    forward.register_fake(outputs)

    # ----------------------------------------------------------------- backward
    def backward_outputs(grad_output, saved, *params):
        expect_same_shape(grad_output, "grad_output", saved, saves, qual_bwd)
        return empty_like(grad_output)

    def backward_impl(grad_output, saved, *params):
        dx = backward_outputs(grad_output, saved, *params)
        call(c_backward, qual_bwd, *params, **{"dy": grad_output, saved_arg: saved, "dx": dx})
        return dx

    backward_impl.__name__ = backward_impl.__qualname__ = f"_{op}_backward"
    backward_impl.__doc__ = f"grad_input = grad_output * d{op}/dx, from {saved_doc}."
    backward = torch.library.custom_op(
        qual_bwd, backward_impl, mutates_args=(),
        schema=f"(Tensor grad_output, Tensor {saves}{schema_params}) -> Tensor")
    backward.register_fake(backward_outputs)
    backward_fast = fast_path(backward, backward_impl)

    # ----------------------------------------------------------------- autograd
    save_input = saves == "x"

    def setup_context(ctx, inputs, output) -> None:
        ctx.params = inputs[1:]
        ctx.save_for_backward((inputs[0] if save_input else output) if ctx.needs_input_grad[0] else None)

    def backward_formula(ctx, grad_output):
        (saved,) = ctx.saved_tensors
        grad = backward_fast(grad_output, saved, *ctx.params) if ctx.needs_input_grad[0] else None
        return (grad, *nones)

    forward.register_autograd(backward_formula, setup_context=setup_context)
    # Plain eager calls take the C++ autograd node where it runs this op's signature
    # (scalar parameters that are C doubles); int/bool parameters keep the Python path.
    node = (elementwise_node(op, len(params), not save_input, backward_fast)
            if all(p.type is float for p in params) else None)
    forward_fast = fast_path(forward, impl, setup_context, backward_formula, node=node)

    # ------------------------------------------------------------- public API
    convert = "".join(f", {p.type.__name__}({p.name})" for p in params)
    if torch_functional is not None:
        like = torch_functional_name(torch_functional)
        doc = f"{op}(input{doc_params}) element-wise, like {like} (any shape)."
    else:
        doc = f"{op}(input{doc_params}) element-wise (any shape); torch has no such function."
    if not inplace:
        functional = _define(op, params, "", f"_fast(input{convert})", {"_fast": forward_fast},
                             defaults, home, doc)
    else:
        if save_input:
            # The backward needs the input, which the copy overwrites: like torch's in-place
            # ops (autograd's original_self), keep a copy of it when a gradient is needed.
            def run_inplace(input, *params):
                keep = torch.is_grad_enabled() and input.requires_grad
                return input.copy_(forward_fast(input.clone() if keep else input, *params))

            doc += ("\n\n``inplace=True`` computes out of place and copies the result into ``input``\n"
                    "(returned); when a gradient is needed the backward gets a copy of the\n"
                    "input taken before (as torch's in-place ops keep ``original_self``), so it\n"
                    "trains as torch's in-place op does.")
        else:
            def run_inplace(input, *params):
                return run_in_place(forward_fast, input, *params)

            doc += ("\n\n``inplace=True`` overwrites ``input`` (returned) as torch's in-place op\n"
                    "does: in place where the C++ node runs it, else computed out of place and\n"
                    "copied in (the backward reads the output either way; _glue.run_in_place).")
        functional = _define(op, params, ", inplace: bool",
                             f"_run(input{convert}) if inplace else _fast(input{convert})",
                             {"_run": run_inplace, "_fast": forward_fast}, defaults + (False,), home, doc)

    module = _module(op, home, functional, params, module_base, module_attrs,
                     inplace and module_base is not None)

    function = type(f"{camel(op)}Function", (torch.autograd.Function,), {
        "__module__": home,
        "__doc__": f"y = {op}(input{doc_params}), any shape; backward from {saved_doc}.",
        # torch.autograd.Function.apply fills the defaults in from forward's signature
        "forward": staticmethod(_define("forward", params, "", f"_op(input{convert})",
                                        {"_op": forward}, defaults, home, None)),
        "setup_context": staticmethod(setup_context),
        "backward": staticmethod(backward_formula),
    })

    _registry.add(
        op, functional=functional, module=module, function=function,
        elementwise=_registry.Elementwise(
            forward=forward, backward=backward, params=dict(zip(names, defaults)),
            saves=saves, torch_functional=torch_functional),
    )
    return ElementwiseOp(forward, backward, forward_fast, backward_fast, functional, module,
                         function, setup_context, backward_formula)


def torch_functional_name(fn: Callable) -> str:
    """torch.nn.functional.celu for the function, for docstrings."""
    module = getattr(fn, "__module__", None) or "torch"
    if module.startswith("torch.nn.functional") or module == "torch._C._nn":
        module = "torch.nn.functional"
    return f"{module}.{getattr(fn, '__name__', fn)}"


def _module(op: str, home: str, functional: Callable, params: Sequence[Param],
            base: Optional[type], attrs: Optional[Sequence[str]], inplace: bool) -> type:
    """The nn module: a subclass of torch's ``base`` whose forward passes its attributes
    (``attrs``, then ``inplace``), or a torch.nn.Module taking the parameters."""
    attrs = tuple(p.name for p in params) if attrs is None else tuple(attrs)
    args = attrs + (("inplace",) if inplace else ())
    if not args:
        def forward(self, input: Tensor) -> Tensor:
            return functional(input)
    elif len(args) == 1:
        get = operator.attrgetter(args[0])

        def forward(self, input: Tensor) -> Tensor:
            return functional(input, get(self))
    else:
        get = operator.attrgetter(*args)

        def forward(self, input: Tensor) -> Tensor:
            return functional(input, *get(self))

    namespace = {"__module__": home, "forward": forward}
    defaults = ", ".join(f"{p.name}={p.default!r}" for p in params)
    if base is not None:
        name = base.__name__
        package = base.__module__.split(".modules")[0]  # torch.nn
        namespace["__doc__"] = f"{package}.{name}({defaults}) on libkernels. Any shape."
    else:
        name, base = camel(op), torch.nn.Module
        namespace["__doc__"] = f"{name}({defaults}) on libkernels: y = {op}(input), any shape."
        signature = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default,
                                 annotation=p.type.__name__) for p in params])

        def __init__(self, *args, **kwargs) -> None:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            torch.nn.Module.__init__(self)
            for key, value in list(bound.arguments.items())[1:]:
                setattr(self, key, value)

        def extra_repr(self) -> str:
            return ", ".join(f"{p.name}={getattr(self, p.name)}" for p in params)

        __init__.__signature__ = signature
        namespace.update(__init__=__init__, extra_repr=extra_repr)
    for fn in (v for v in namespace.values() if callable(v)):
        fn.__module__ = home
        fn.__qualname__ = f"{name}.{fn.__name__}"
    return type(name, (base,), namespace)
