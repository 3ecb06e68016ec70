"""pykernels softplus against torch.nn.functional.softplus: the whole element-wise suite of
tests/python/_elementwise.py (parity at several parameter values and layouts,
gradcheck, opcheck, torch.compile, no_grad, NumPy, bad scalars and tensors,
CUDA). Run alone: make check OP=softplus"""
import torch

from _elementwise import ElementwiseSuite

reference = torch.nn.functional.softplus  # reference(x, *params), differentiable


SUITE = ElementwiseSuite("softplus", reference, bad_scalars={"beta": [0]})
SUITE.tests(globals())
