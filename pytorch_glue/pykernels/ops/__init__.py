"""The NumPy functions of operators, one module per operator (pykernels/ops/<op>.py).

Each module defines its functions (e.g. ``softplus`` and ``softplus_backward``)
and lists them in ``__all__``; ``import pykernels`` finds every module here and
exports those names as ``pykernels.<name>``. Operators older than this layout
are defined in pykernels/__init__.py.
"""
