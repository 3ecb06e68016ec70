"""pykernels tanh against torch.tanh: the whole element-wise suite of
tests/python/_elementwise.py (parity of functional, nn.Tanh and TanhFunction over
layouts, gradcheck, opcheck, torch.compile, no_grad, NumPy, special values,
errors, CUDA). Run alone: make check OP=tanh"""
import torch

from _elementwise import ElementwiseSuite

SUITE = ElementwiseSuite("tanh", torch.tanh)
SUITE.tests(globals())
