"""The torch.library custom ops, one module per operator (namespace ``pykernels``):

    linear.py    pykernels::linear, pykernels::linear_backward
    relu.py      pykernels::relu, pykernels::relu_backward
    mse_loss.py  pykernels::mse_loss, pykernels::mse_loss_backward
    sigmoid.py   pykernels::sigmoid, pykernels::sigmoid_backward
    tanh.py      pykernels::tanh, pykernels::tanh_backward
    leaky_relu.py  pykernels::leaky_relu, pykernels::leaky_relu_backward
    gelu.py      pykernels::gelu, pykernels::gelu_backward
    softplus.py  pykernels::softplus, pykernels::softplus_backward
    dropout.py   pykernels::dropout, pykernels::dropout_backward
    pool2d.py    pykernels::max_pool2d, pykernels::max_pool2d_backward,
                 pykernels::avg_pool2d, pykernels::avg_pool2d_backward
    softmax.py   pykernels::softmax, pykernels::softmax_backward,
                 pykernels::log_softmax, pykernels::log_softmax_backward
    nll_loss.py  pykernels::nll_loss, pykernels::nll_loss_backward
    cross_entropy.py  pykernels::cross_entropy, pykernels::cross_entropy_backward
    _class_loss.py    argument checks shared by nll_loss and cross_entropy
    conv2d.py    pykernels::conv2d, pykernels::conv2d_backward
    gspmm.py     pykernels::csr_transpose, pykernels::gspmm, pykernels::gspmm_backward
    layer_norm.py  pykernels::layer_norm, pykernels::layer_norm_backward
    group_norm.py  pykernels::group_norm, pykernels::group_norm_backward
    _norm.py       backward outputs, kernel call and autograd shared by layer_norm and group_norm

Each module defines the forward and backward custom ops (real kernel through
``pykernels._C`` and a ``register_fake`` sharing one output-allocation
function), and the forward's autograd formula (``setup_context`` and
``backward``), registered with ``register_autograd`` and reused by the
public ``pykernels.torch.autograd`` Function classes. The modules of the per-op
layout (sigmoid, tanh, leaky_relu, gelu, softplus, and every new op) also
define their functional, nn module and autograd Function and register them
with ``_registry.add``; they are imported below without being listed.
"""
from . import linear, mse_loss, relu
from . import conv2d
from . import pool2d
from . import softmax, nll_loss, cross_entropy
from . import dropout
from . import gspmm

__all__ = ["linear", "relu", "mse_loss", "conv2d", "pool2d", "softmax",
           "nll_loss", "cross_entropy", "dropout"]
__all__ += ["gspmm"]

# Operators added since the per-op layout: every other module of this package,
# imported here (not listed); each registers its public API in _registry.


def _import_op_modules() -> None:
    import importlib
    import pkgutil
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_op_modules()
