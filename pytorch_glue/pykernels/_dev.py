"""Load pykernels._C from a CMake build tree (PYKERNELS_BUILD_DIR, set by `make check`
and `make bench-op`), so that the source tree's pure-Python package runs against a
fresh build without `pip install`. The module finds libkernels through its build
RPATH. Not for installed use."""
from __future__ import annotations

import glob
import importlib.util
import os
import sys


def load_build_tree_module(build_dir: str) -> None:
    found = sorted(glob.glob(os.path.join(build_dir, "_C.*.so")))
    if not found:
        raise ImportError(f"PYKERNELS_BUILD_DIR={build_dir}: no _C.*.so there (build the _C target)")
    spec = importlib.util.spec_from_file_location("pykernels._C", found[0])
    module = importlib.util.module_from_spec(spec)
    sys.modules["pykernels._C"] = module
    spec.loader.exec_module(module)
