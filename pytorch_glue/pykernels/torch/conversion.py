"""``pykernels.torch.convert(model)``: run an existing torch.nn model on libkernels.

(This module is ``pykernels.torch.conversion``; ``pykernels.torch`` re-exports
``convert``, ``Conversion`` and ``ConversionReport``.)

Every layer of ``model`` whose exact type is a torch.nn class that
``pykernels.torch.nn`` mirrors (Linear, Conv2d, ReLU, ...) is switched, in place,
to its pykernels twin. The twin is a subclass of the torch class that overrides
only ``forward`` (see pykernels/torch/nn.py), so the switch changes the object's
class and nothing else: the SAME parameter and buffer objects, hooks, training
flag and state_dict keys. An optimizer created before the conversion keeps
working, and ``state_dict()`` still loads into the unconverted torch model.

    model = torchvision_like_model()
    report = pykernels.torch.convert(model)
    print(report)            # one line per layer: replaced, or left on torch and why

Layers with children are switched too when pykernels has their twin:
MultiheadAttention (and its out_proj, a NonDynamicallyQuantizableLinear),
TransformerEncoderLayer, TransformerDecoderLayer and TransformerEncoder, whose
twins drop torch's inference fast paths (torch._transformer_encoder_layer_fwd,
torch._native_multi_head_attention, the encoder's nested tensors), which would
bypass the submodules. Other containers (Sequential, Transformer,
TransformerDecoder, a user's model) are not layers: their children are, and
they are not listed in the report (a subclass of a twinned container is, as
left on torch).

What is left on torch:
  * layers pykernels has no twin for (InstanceNorm2d, Upsample, ...), and
    subclasses of torch.nn classes (their forward may differ from torch's);
  * layers whose parameters are in a dtype other than float32/float64, or on a
    device other than cpu/cuda (cuda only when ``pykernels.has_cuda()``).
Calls to torch.nn.functional inside a custom ``forward`` are code, not layers:
they stay torch calls (use ``pykernels.torch.functional`` there).
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Type

import torch

from .. import has_cuda
from . import nn as _pk_nn

__all__ = ["convert", "Conversion", "ConversionReport", "twins"]

_DTYPES = (torch.float32, torch.float64)


def twins() -> Dict[Type[torch.nn.Module], Type[torch.nn.Module]]:
    """{torch.nn class: its pykernels.torch.nn twin}, for every layer pykernels mirrors.

    Found from the classes themselves: a twin is a class of pykernels.torch.nn whose
    direct base is the torch.nn class of the same name."""
    found = {}
    for name in _pk_nn.__all__:
        cls = getattr(_pk_nn, name)
        if not inspect.isclass(cls):
            continue
        base = cls.__bases__[0]
        if base.__name__ == cls.__name__ and _is_torch_nn_class(base):
            found[base] = cls
    return found


def _is_torch_nn_class(cls: type) -> bool:
    """A class of torch.nn: exported by torch.nn, or defined in a torch.nn.modules module
    (NonDynamicallyQuantizableLinear, the out_proj of torch.nn.MultiheadAttention)."""
    if getattr(torch.nn, cls.__name__, None) is cls:
        return True
    module = sys.modules.get(cls.__module__)
    return (cls.__module__.startswith("torch.nn.modules.")
            and getattr(module, cls.__name__, None) is cls)


@dataclass(frozen=True)
class Conversion:
    """One layer of the model: ``name`` as in ``model.named_modules()`` ('' = the model
    itself), ``layer`` its class name, ``replaced`` whether it now runs on pykernels,
    and ``reason`` why not (empty when replaced)."""
    name: str
    layer: str
    replaced: bool
    reason: str = ""


class ConversionReport(List[Conversion]):
    """The list of Conversions convert() returns, one per layer (leaf module or twinned
    container)."""

    @property
    def replaced(self) -> List[Conversion]:
        return [c for c in self if c.replaced]

    @property
    def kept(self) -> List[Conversion]:
        return [c for c in self if not c.replaced]

    def __str__(self) -> str:
        rows = [(c.name or "(model)", c.layer,
                 "pykernels" if c.replaced else f"torch: {c.reason}") for c in self]
        w0 = max([len(r[0]) for r in rows] + [5])
        w1 = max([len(r[1]) for r in rows] + [5])
        lines = [f"{'layer':<{w0}}  {'type':<{w1}}  runs on"]
        lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
        lines.append(f"{len(self.replaced)} of {len(self)} layers on pykernels")
        return "\n".join(lines)


def _unsupported(module: torch.nn.Module) -> Optional[str]:
    """Why ``module``'s tensors cannot run on libkernels, or None if they can."""
    for t in list(module.parameters(recurse=False)) + list(module.buffers(recurse=False)):
        if t.is_floating_point() and t.dtype not in _DTYPES:
            return f"dtype {t.dtype} (pykernels runs float32 and float64)"
        if t.device.type not in ("cpu", "cuda"):
            return f"device {t.device} (pykernels runs cpu and cuda)"
        if t.device.type == "cuda" and not has_cuda():
            return "a CUDA tensor, but this pykernels was built without CUDA"
    return None


def convert(model: torch.nn.Module) -> ConversionReport:
    """Switch, in place, every layer of ``model`` that pykernels covers to its
    pykernels.torch.nn twin (same parameters); return what was replaced and what was
    left on torch, one :class:`Conversion` per leaf module and per container that has (or
    subclasses a class that has) a twin, in ``named_modules`` order."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"pykernels.torch.convert: expected a torch.nn.Module, "
                        f"got {type(model).__name__}")
    table = twins()
    pk_classes = set(table.values())
    report = ConversionReport()
    for name, module in model.named_modules():
        cls = type(module)
        if next(module.children(), None) is not None and cls not in table and cls not in pk_classes:
            # a container without a twin (Sequential, a user model, torch.nn.Transformer):
            # its forward calls its children, which are the layers. A subclass of a
            # twinned container (its forward may take torch's own path) is reported.
            base = next((b for b in cls.__mro__[1:] if b in table), None)
            if base is not None:
                report.append(Conversion(name, cls.__name__, False,
                                         f"a subclass of torch.nn.{base.__name__} "
                                         "(its forward may differ)"))
            continue
        if cls in pk_classes:
            report.append(Conversion(name, cls.__name__, True))
            continue
        twin = table.get(cls)
        if twin is None:
            if _is_torch_nn_class(cls):
                reason = "no pykernels twin"
            elif any(base in table for base in cls.__mro__[1:]):
                base = next(b for b in cls.__mro__[1:] if b in table)
                reason = f"a subclass of torch.nn.{base.__name__} (its forward may differ)"
            else:
                reason = "not a torch.nn layer"
            report.append(Conversion(name, cls.__name__, False, reason))
            continue
        reason = _unsupported(module)
        if reason is not None:
            report.append(Conversion(name, cls.__name__, False, reason))
            continue
        module.__class__ = twin  # same object, same parameters: only forward changes
        report.append(Conversion(name, cls.__name__, True))
    return report
