"""pykernels sigmoid against torch.sigmoid: the whole element-wise suite of
tests/python/_elementwise.py (parity of functional, nn.Sigmoid and
SigmoidFunction over layouts, gradcheck, opcheck, torch.compile, no_grad, NumPy,
special values, errors, CUDA), and sigmoid's own precision test.
Run alone: make check OP=sigmoid"""
import torch

from _elementwise import ElementwiseSuite
from pykernels.torch import functional as F

SUITE = ElementwiseSuite("sigmoid", torch.sigmoid)
SUITE.tests(globals())


def test_keeps_relative_precision_far_on_the_negative_side():
    # float: expf(90) overflows in the naive 1 / (1 + exp(-x)); the kernel's
    # e / (1 + e), e = exp(-|x|), keeps its relative precision.
    torch.testing.assert_close(F.sigmoid(torch.tensor([-90.0]))[0].double(),
                               torch.exp(torch.tensor(-90.0, dtype=torch.float64)), rtol=1e-4, atol=0)
