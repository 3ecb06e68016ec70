"""One op module per file, found and exported, not listed: ``pykernels`` exports
pykernels/ops/<op>.py and ``pykernels.jax`` pykernels/jax/ops/<op>.py this way."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def export_op_modules(ops: ModuleType, namespace: dict, exported: list, owner: str) -> None:
    """Put every name in the ``__all__`` of each module of the package ``ops`` (in name
    order, skipping ``_private`` ones) into ``namespace`` and append it to ``exported``
    (the owner's ``__all__``). A name the owner already has is an ImportError."""
    for info in sorted(pkgutil.iter_modules(ops.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{ops.__name__}.{info.name}")
        for name in module.__all__:
            if name in namespace:
                raise ImportError(f"{ops.__name__}.{info.name} exports {name!r}, which {owner} "
                                  "already defines")
            namespace[name] = getattr(module, name)
            exported.append(name)
