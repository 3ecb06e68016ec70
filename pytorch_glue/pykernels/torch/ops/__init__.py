"""The torch.library custom ops, one module per operator (namespace ``pykernels``):

    linear.py    pykernels::linear, pykernels::linear_backward
    relu.py      pykernels::relu, pykernels::relu_backward
    mse_loss.py  pykernels::mse_loss, pykernels::mse_loss_backward
    conv2d.py    pykernels::conv2d, pykernels::conv2d_backward

Each module defines the forward and backward custom ops (real kernel through
``pykernels._C`` and a ``register_fake`` sharing one output-allocation
function), and the forward's autograd formula (``setup_context`` and
``backward``), registered with ``register_autograd`` and reused by the
public ``pykernels.torch.autograd`` Function classes.
"""
from . import linear, mse_loss, relu
from . import conv2d

__all__ = ["linear", "relu", "mse_loss"]
__all__ += ["conv2d"]
