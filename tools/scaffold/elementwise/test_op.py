"""pykernels @@op@@ against @@reference_doc@@: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=@@op@@"""
import torch

from _elementwise import ElementwiseSuite
@@py_reference@@

SUITE = ElementwiseSuite("@@op@@", reference, bad_scalars={@@py_bad@@})
SUITE.tests(globals())
