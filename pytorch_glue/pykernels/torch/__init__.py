"""pykernels.torch: libkernels as PyTorch ops, layers and autograd Functions.

    pykernels.torch.functional   linear, relu, mse_loss      (mirror torch.nn.functional)
    pykernels.torch.nn           Linear, ReLU, MSELoss       (mirror torch.nn)
    pykernels.torch.autograd     LinearFunction, ReLUFunction, MSELossFunction
    pykernels.torch.ops          the custom ops torch.ops.pykernels.* (one module per op)

Importing this package registers the custom ops ``torch.ops.pykernels.linear``,
``linear_backward``, ``relu``, ``relu_backward``, ``mse_loss`` and
``mse_loss_backward``. They run on CPU tensors, and on CUDA tensors (on
torch's current stream) when the library was built with CUDA; float32 and
float64 only. They support autograd, torch.compile(fullgraph=True) and
torch.library.opcheck, and save nothing under no_grad / inference_mode.
"""
import torch  # noqa: F401  (this subpackage requires torch)

from . import ops  # registers torch.ops.pykernels.*
from . import autograd, functional, models, nn
from .conversion import Conversion, ConversionReport, convert

__all__ = ["ops", "autograd", "functional", "nn", "models", "convert", "Conversion",
           "ConversionReport"]
