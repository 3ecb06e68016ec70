"""The torch.library custom ops, one module per operator (namespace ``pykernels``):

    linear.py    pykernels::linear, pykernels::linear_backward
    relu.py      pykernels::relu, pykernels::relu_backward
    mse_loss.py  pykernels::mse_loss, pykernels::mse_loss_backward
    softmax.py   pykernels::softmax, pykernels::softmax_backward,
                 pykernels::log_softmax, pykernels::log_softmax_backward
    nll_loss.py  pykernels::nll_loss, pykernels::nll_loss_backward
    cross_entropy.py  pykernels::cross_entropy, pykernels::cross_entropy_backward

Each module defines the forward and backward custom ops (real kernel through
``pykernels._C`` and a ``register_fake`` sharing one output-allocation
function), and the forward's autograd formula (``setup_context`` and
``backward``), registered with ``register_autograd`` and reused by the
public ``pykernels.torch.autograd`` Function classes.
"""
from . import linear, mse_loss, relu
from . import cross_entropy, nll_loss, softmax  # softmax and losses

__all__ = ["linear", "relu", "mse_loss"]
__all__ += ["softmax", "nll_loss", "cross_entropy"]
