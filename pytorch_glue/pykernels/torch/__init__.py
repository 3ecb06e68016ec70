"""pykernels.torch: libkernels as PyTorch ops, layers and autograd Functions.

    pykernels.torch.functional   mirrors torch.nn.functional: linear, conv2d, max_pool2d,
                                 avg_pool2d, relu, leaky_relu, sigmoid, tanh, gelu, softmax,
                                 log_softmax, mse_loss, nll_loss, cross_entropy, dropout;
                                 and for graphs spmm (as torch.sparse.mm) and gspmm
    pykernels.torch.nn           mirrors torch.nn: Linear, Conv2d, MaxPool2d, AvgPool2d, ReLU,
                                 LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax, MSELoss,
                                 NLLLoss, CrossEntropyLoss, Dropout, Flatten; and
                                 GraphConv (as DGL's, Kipf & Welling's GCN layer)
    pykernels.torch.autograd     <Op>Function classes over the custom ops
    pykernels.torch.ops          the custom ops torch.ops.pykernels.* (one module per op)
    pykernels.torch.Graph        a CSR graph for functional.gspmm / nn.GraphConv
                                 (functional.spmm takes a torch sparse CSR adjacency)
    pykernels.torch.convert      switch an existing torch.nn model's layers to pykernels
    pykernels.torch.models       lenet5, mlp (on pykernels or torch.nn)
    python -m pykernels.torch.profile   per-operator times of a LeNet step vs torch

Importing this package registers the custom ops ``torch.ops.pykernels.<op>`` and
``<op>_backward`` for every operator. They run on CPU tensors, and on CUDA tensors
(on torch's current stream) when the library was built with CUDA; float32 and
float64 only. They support autograd, torch.compile(fullgraph=True) and
torch.library.opcheck, and save nothing under no_grad / inference_mode.
"""
import torch  # noqa: F401  (this subpackage requires torch)

from . import ops  # registers torch.ops.pykernels.*
from . import autograd, functional, models, nn
from .conversion import Conversion, ConversionReport, convert
from .graph import Graph

__all__ = ["ops", "autograd", "functional", "nn", "models", "convert", "Conversion",
           "ConversionReport"]
__all__ += ["Graph"]
