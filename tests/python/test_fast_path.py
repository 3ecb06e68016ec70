"""The eager fast path (_glue.fast_path) against the custom ops it stands in for.

In plain eager mode `pykernels.torch.functional` runs an op's body directly; under
anything that could observe the dispatcher (here: a TorchDispatchMode) it must call
the custom op. Both paths must give the same outputs and gradients and save the
same tensors: they share the kernel call and the autograd formula.
"""
import pytest
import torch

import pykernels.torch as pkt
import pykernels.torch.functional as KF
from pykernels.torch import _glue

from _helpers import OpLog


def _graph():
    src = torch.tensor([0, 1, 2, 2, 3, 4, 4, 0])
    dst = torch.tensor([1, 2, 0, 3, 3, 0, 1, 4])
    return pkt.Graph.from_edges(src, dst, num_nodes=5)


# name, the pykernels op it must reach under a mode, a call, and input shapes
CASES = [
    ("relu", "pykernels.relu", lambda x: KF.relu(x), [(4, 7)]),
    ("sigmoid", "pykernels.sigmoid", lambda x: KF.sigmoid(x), [(4, 7)]),
    ("gelu", "pykernels.gelu", lambda x: KF.gelu(x), [(4, 7)]),
    ("log_softmax", "pykernels.log_softmax", lambda x: KF.log_softmax(x, 1), [(4, 7)]),
    ("linear", "pykernels.linear", lambda x, w, b: KF.linear(x, w, b), [(3, 5), (4, 5), (4,)]),
    ("conv2d", "pykernels.conv2d", lambda x, w: KF.conv2d(x, w, padding=1),
     [(2, 3, 6, 6), (4, 3, 3, 3)]),
    ("max_pool2d", "pykernels.max_pool2d", lambda x: KF.max_pool2d(x, 2), [(2, 3, 6, 6)]),
    ("cross_entropy", "pykernels.cross_entropy",
     lambda x: KF.cross_entropy(x, torch.tensor([0, 2, 1, 6])), [(4, 7)]),
    ("gspmm", "pykernels.gspmm", lambda x: KF.gspmm(_graph(), x, reduce="mean"), [(5, 3)]),
]


# The cases whose eager path is a C++ node of pykernels._torch_ext (test_torch_ext.py).
NODE_OPS = {"relu": "ElementwiseFunction", "sigmoid": "ElementwiseFunction", "linear": "LinearFunction",
            "cross_entropy": "ClassLossFunction", "max_pool2d": "MaxPool2dFunction"}


def _run(call, shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    leaves = [torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_() for s in shapes]
    out = call(*leaves)
    out.backward(torch.randn(out.shape, generator=g, dtype=torch.float64))
    return out.detach(), [t.grad for t in leaves], out.grad_fn


@pytest.mark.parametrize("name,op,call,shapes", CASES, ids=[c[0] for c in CASES])
def test_fast_path_equals_custom_op(name, op, call, shapes):
    fast_out, fast_grads, fast_fn = _run(call, shapes)
    with OpLog() as log:
        op_out, op_grads, op_fn = _run(call, shapes)
    # Under the mode the custom op (and its backward op) ran, not the shortcut ...
    assert any(o.startswith(op + ".") for o in log.ops), log.ops
    assert any(o.startswith(op + "_backward.") for o in log.ops), log.ops
    assert "eager" not in type(op_fn).__name__
    # ... while plain eager took the shortcut, which built its own autograd node: the
    # C++ one of pykernels._torch_ext for the element-wise ops it runs, else a Python one.
    if name in NODE_OPS and _glue.torch_ext is not None:
        assert fast_fn.name() == f"torch::autograd::CppNode<pykernels::{NODE_OPS[name]}>"
    else:
        assert "eager" in type(fast_fn).__name__
    torch.testing.assert_close(fast_out, op_out, rtol=0, atol=0)
    for a, b in zip(fast_grads, op_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fast_path_saves_nothing_without_grad():
    x = torch.randn(8, 8, requires_grad=True)
    w = torch.randn(4, 8, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        with torch.no_grad():
            y = KF.relu(KF.linear(x, w))
        assert y.grad_fn is None and not saved
        KF.relu(KF.linear(x, w.detach()))  # x needs a grad: linear keeps w only
    assert len(saved) == 2 and saved[0] is not x


def test_fast_path_errors_match_the_op():
    x = torch.randn(3, 5)
    with pytest.raises(ValueError) as fast:
        KF.linear(x, torch.randn(4, 6))
    with OpLog(), pytest.raises(ValueError) as op:
        KF.linear(x, torch.randn(4, 6))
    assert str(fast.value) == str(op.value)


# ------------------------------------------------- tensors read by the binding
#
# _glue.call hands plain CPU tensors to pykernels._C as they are (the binding reads
# data_ptr/shape/stride itself); anything else makes the binding raise NotPlainTensor
# before it runs the kernel, and call() passes descriptors instead.

class Tagged(torch.Tensor):
    """A trivial tensor subclass: not a plain tensor for the binding."""


def test_binding_reads_plain_cpu_tensors():
    from pykernels import _C
    x = torch.randn(3, 8)[:, ::2]  # strided view with a storage offset of 0, strides (8, 2)
    x = x[1:]                      # and an offset
    y = torch.empty(2, 4).t().contiguous().t()  # column-major output
    _C.relu_forward(x, y)
    assert torch.equal(y, torch.relu(x))
    p = torch.nn.Parameter(torch.randn(5))
    out = torch.empty(5)
    _C.relu_forward(p, out)
    assert torch.equal(out, torch.relu(p.detach()))


@pytest.mark.parametrize("make", [
    lambda: torch.randn(4).as_subclass(Tagged),      # a subclass
    lambda: torch.randn(4).to(torch.int8),            # a dtype without a kn_dtype
    lambda: torch.randn(4).to_sparse(),               # another layout
    lambda: [1.0, 2.0],                               # not a tensor at all
])
def test_binding_refuses_other_tensors_before_running(make):
    from pykernels import _C
    y = torch.full((4,), 7.0)
    with pytest.raises(_C.NotPlainTensor) as e:
        _C.relu_forward(make(), y)
    assert isinstance(e.value, TypeError)
    assert torch.equal(y, torch.full((4,), 7.0))  # nothing ran


def test_call_falls_back_to_descriptors():
    x = torch.randn(4, 6).as_subclass(Tagged)
    assert torch.equal(KF.relu(x).as_subclass(torch.Tensor), torch.relu(x.as_subclass(torch.Tensor)))
    with pytest.raises(TypeError, match="dtype torch.int8 is not supported by libkernels"):
        KF.relu(torch.ones(3, dtype=torch.int8))


@pytest.mark.parametrize("name, call", [
    ("max_pool2d", lambda x: KF.max_pool2d(x, 2, return_indices=True)),
    ("adaptive_max_pool2d", lambda x: KF.adaptive_max_pool2d(x, (2, 2), return_indices=True)),
])
def test_max_pool_indices_get_no_zero_gradient(name, call):
    # autograd would hand the backward a zeros tensor for the int64 indices (a fill as
    # large as the output, _glue.mark_non_differentiable): the backward must run no op
    # on an int64 tensor but the kernel's own reads.
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    y, indices = call(x)
    log = OpLog()
    with log:
        (dx,) = torch.autograd.grad(y, x, torch.ones_like(y))
    assert not any(("zero" in op or "fill" in op) for op in log.ops), log.ops
    expected = torch.zeros(2 * 3 * 64).index_add_(
        0, (indices + 64 * torch.arange(6).view(2, 3, 1, 1)).flatten(), torch.ones(y.numel()))
    assert torch.equal(dx.flatten(), expected)


def _lstm_outputs(x):
    y, (h, c) = pkt.nn.LSTM(5, 4, num_layers=2)(x)
    return y.sum() + h.sum() + c.sum()  # every output in the loss: no zeros needed


@pytest.mark.parametrize("name, call, shape", [
    ("nll_loss", lambda x: KF.nll_loss(x, torch.tensor([0, 2, 1, 6])), (4, 7)),
    ("cross_entropy", lambda x: KF.cross_entropy(x, torch.tensor([0, 2, 1, 6])), (4, 7)),
    ("layer_norm", lambda x: KF.layer_norm(x, (7,)), (4, 7)),
    ("group_norm", lambda x: KF.group_norm(x, 2), (2, 4, 3)),
    ("batch_norm", lambda x: KF.batch_norm(x, torch.zeros(4), torch.ones(4), training=True),
     (3, 4, 5)),
    ("scaled_dot_product_attention",
     lambda x: KF.scaled_dot_product_attention(x, x * 2, x * 3), (2, 3, 4)),
    ("lstm", _lstm_outputs, (3, 2, 5)),
    ("dropout", lambda x: KF.dropout(x, 0.5, training=True), (4, 7)),
])
def test_non_differentiable_outputs_get_no_zero_gradient(name, call, shape):
    # The ops' statistics, total_weight, logsumexp and the RNN reserve are outputs without
    # a gradient. Autograd would hand the backward zeros of their shapes, a fill per call
    # (the LSTM's reserve: 10.5 MB a layer at the benchmark's size) and an allocation that
    # changed glibc's heap enough to page-fault the next 16 MB gradient in again
    # (nll_loss backward 4096x1000: 1500 page faults a call, 1.77x torch's time; Intel
    # Xeon model 167); dropout's bool mask a 16 MB fill at 16M elements.
    # _glue.mark_non_differentiable turns that off.
    x = torch.randn(*shape, requires_grad=True)
    torch.manual_seed(0)  # dropout's mask, the LSTM's weights: the same in both calls
    out = call(x)
    log = OpLog()
    with log:
        (dx,) = torch.autograd.grad(out, x, torch.ones_like(out))
    assert not any(("zero" in op or "fill" in op) for op in log.ops), log.ops
    torch.manual_seed(0)
    (expected,) = torch.autograd.grad(call(x), x, torch.ones_like(out))  # without the mode
    torch.testing.assert_close(dx, expected)
