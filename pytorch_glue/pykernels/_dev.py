"""Load pykernels._C (and _jax_ffi) from a CMake build tree (PYKERNELS_BUILD_DIR, set by `make check`
and `make bench-op`), so that the source tree's pure-Python package runs against a
fresh build without `pip install`. The module finds libkernels through its build
RPATH. Not for installed use."""
from __future__ import annotations

import glob
import importlib.util
import os
import sys


def load_build_tree_module(build_dir: str, name: str = "_C", required: bool = True) -> None:
    """Load pykernels.<name> (_C, or _jax_ffi when the build made it) from build_dir."""
    found = sorted(glob.glob(os.path.join(build_dir, f"{name}.*.so")))
    if not found:
        if not required:
            return
        raise ImportError(f"PYKERNELS_BUILD_DIR={build_dir}: no {name}.*.so there (build the {name} target)")
    spec = importlib.util.spec_from_file_location(f"pykernels.{name}", found[0])
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"pykernels.{name}"] = module
    spec.loader.exec_module(module)
