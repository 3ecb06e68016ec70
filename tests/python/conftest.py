"""Shared fixtures for the pykernels tests. The tests import the INSTALLED package
(pip install .); run them with ``python -m pytest --import-mode=importlib tests/python``.
`make check OP=...` runs one op's file against the source tree and the build tree's
_C instead (PYKERNELS_BUILD_DIR, PYTHONPATH=pytorch_glue)."""
import os
import random
import sys

import numpy as np
import pytest

import pykernels

# Test the installed package, never the source tree (which has no _C) -- unless
# the fast loop asked for the source tree with a build tree's _C.
assert "pytorch_glue" not in pykernels.__file__ or os.environ.get("PYKERNELS_BUILD_DIR"), pykernels.__file__

# _helpers.py lives beside this file (--import-mode=importlib adds no test dirs to sys.path).
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same seeds."""
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(0)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device and a CUDA build")
