"""Where the per-op modules (pykernels/torch/ops/<op>.py) put their public API.

An op module ends with

    _registry.add("softplus", functional=..., module=..., function=...,
                  elementwise=_registry.Elementwise(...))

and pykernels.torch.functional / .nn / .autograd export what was added, under
the functional's ``__name__``, the module class's and the Function class's
names. Nothing lists the ops: ``pykernels.torch.ops`` imports every module of
its package. ``elementwise`` describes an element-wise op for the shared tests
(tests/python/_elementwise.py) and the benchmark against torch
(benchmarks/elementwise_vs_torch.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional


@dataclass(frozen=True)
class Elementwise:
    forward: Callable            # the custom op pykernels::<op>(x, *params)
    backward: Callable           # pykernels::<op>_backward(grad_output, saved, *params)
    params: Dict[str, Any] = field(default_factory=dict)  # name -> default, in C order
    saves: str = "x"             # what backward takes: "x" (input) or "output"
    torch_functional: Optional[Callable] = None  # torch's own function, if torch has one


@dataclass(frozen=True)
class Entry:
    name: str
    functional: Optional[Callable] = None
    module: Optional[type] = None
    function: Optional[type] = None
    elementwise: Optional[Elementwise] = None


entries: Dict[str, Entry] = {}


def add(name: str, **kwargs) -> None:
    if name in entries:
        raise ValueError(f"pykernels.torch: op {name!r} registered twice")
    entries[name] = Entry(name, **kwargs)


def export(namespace: dict, names: list, kind: str) -> None:
    """Put every registered ``kind`` ('functional', 'module', 'function') into a
    module's namespace and its ``__all__``."""
    for entry in entries.values():
        obj = getattr(entry, kind)
        if obj is None:
            continue
        name = obj.__name__
        if name in namespace:
            raise ImportError(f"pykernels.torch: {entry.name} exports {name!r}, which is already defined")
        namespace[name] = obj
        names.append(name)
