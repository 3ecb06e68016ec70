"""pykernels._torch_ext: the C++ autograd nodes (torch_ext/): the element-wise ops'
(elementwise.cpp), linear's (linear.cpp), the class-index losses' (class_loss.cpp),
max_pool2d's (max_pool2d.cpp) and embedding's (embedding.cpp).

In plain eager mode the element-wise ops with C-double parameters call the node, which
runs the forward kernel and records a C++ autograd node; everything it does not run
itself goes back to the Python path. Here: it is built and used, it gives exactly what
the Python path gives, and each hand-back (other dtypes, create_graph, bad input,
another torch version) behaves as without it.
"""
import os
import subprocess
import sys

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import pykernels
import pykernels.torch.functional as KF
from pykernels.torch import _glue

from _helpers import OpLog

NODE = "torch::autograd::CppNode<pykernels::ElementwiseFunction>"

# op, a call, saves the output (else the input)
OPS = [
    ("relu", lambda x: KF.relu(x), True),
    ("sigmoid", lambda x: KF.sigmoid(x), True),
    ("tanh", lambda x: KF.tanh(x), True),
    ("silu", lambda x: KF.silu(x), False),
    ("celu", lambda x: KF.celu(x, alpha=0.7), False),
    ("hardtanh", lambda x: KF.hardtanh(x, -0.5, 0.25), True),
    ("softplus", lambda x: KF.softplus(x, beta=2.0, threshold=1.5), False),
]
IDS = [o[0] for o in OPS]

class Passthrough(TorchDispatchMode):
    """Runs every op as it is: under it the glue calls the custom ops, not the node."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


needs_ext = pytest.mark.skipif(_glue.torch_ext is None, reason="pykernels._torch_ext not in use")


def test_built_wherever_torch_is_importable_at_build_time():
    # `make test` builds with a Python that imports torch: the module must be there and
    # match this torch, or the C++ node silently never runs.
    if os.environ.get("PYKERNELS_TORCH_EXT") == "0":
        pytest.skip("PYKERNELS_TORCH_EXT=0")
    assert _glue.torch_ext is not None, "pykernels._torch_ext was not built or not loadable"
    assert _glue.torch_ext.torch_version == torch.__version__


def _python_path(call_src: str) -> str:
    """Run ``call_src`` in a fresh process with the C++ node turned off; its stdout."""
    env = dict(os.environ, PYKERNELS_TORCH_EXT="0")
    return subprocess.run([sys.executable, "-c", call_src], env=env, check=True,
                          capture_output=True, text=True).stdout


@needs_ext
@pytest.mark.parametrize("name,call,saves_output", OPS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_node_equals_python_path(name, call, saves_output, dtype):
    # A strided input and an expanded (stride-0) gradient, as autograd hands over.
    g = torch.Generator().manual_seed(1)
    base = torch.randn(6, 10, generator=g, dtype=dtype) * 3
    x = base[:, ::2].detach().requires_grad_()
    y = call(x)
    assert y.grad_fn.name() == NODE
    y.sum().backward()
    # Bitwise what the custom op gives (a dispatch mode makes the call take it).
    x2 = base[:, ::2].detach().requires_grad_()
    with Passthrough():
        y2 = call(x2)
        y2.sum().backward()
    assert y2.grad_fn.name() != NODE
    assert torch.equal(y.detach(), y2.detach())
    assert torch.equal(x.grad, x2.grad)


@needs_ext
def test_turned_off_runs_the_python_function():
    out = _python_path(
        "import torch, pykernels.torch.functional as KF\n"
        "from pykernels.torch import _glue\n"
        "x = torch.linspace(-2, 2, 9, dtype=torch.float64, requires_grad=True)\n"
        "y = KF.softplus(x, beta=2.0); y.backward(torch.arange(9.0, dtype=torch.float64))\n"
        "print(_glue.torch_ext is None, type(y.grad_fn).__name__)\n"
        "print(repr(y.detach().tolist())); print(repr(x.grad.tolist()))\n")
    first, y_off, g_off = out.strip().split("\n")
    off, fn = first.split()
    assert off == "True" and "eager" in fn
    x = torch.linspace(-2, 2, 9, dtype=torch.float64, requires_grad=True)
    y = KF.softplus(x, beta=2.0)
    y.backward(torch.arange(9.0, dtype=torch.float64))
    assert y.grad_fn.name() == NODE
    assert repr(y.detach().tolist()) == y_off and repr(x.grad.tolist()) == g_off


@needs_ext
@pytest.mark.parametrize("name,call,saves_output", OPS, ids=IDS)
def test_saves_one_tensor_only_when_needed(name, call, saves_output):
    x = torch.randn(5, 3, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        with torch.no_grad():
            assert call(x).grad_fn is None
        assert call(x.detach()).grad_fn is None
        assert not saved
        y = call(x)
    assert len(saved) == 1
    assert saved[0] is (y if saves_output else x) or torch.equal(saved[0], y if saves_output else x)


@needs_ext
def test_gradcheck_through_the_node():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    for fn in (KF.tanh, KF.sigmoid, lambda t: KF.softplus(t, 1.5, 2.0), lambda t: KF.celu(t, 0.5)):
        assert fn(x).grad_fn.name() == NODE
        assert torch.autograd.gradcheck(fn, (x,))


@needs_ext
def test_modified_saved_tensor_raises_torchs_error():
    x = torch.randn(4, requires_grad=True)
    y = KF.relu(x)
    y.add_(1)  # the saved output
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@needs_ext
def test_second_backward_without_retain_graph_raises():
    x = torch.randn(4, requires_grad=True)
    y = KF.sigmoid(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert torch.allclose(x.grad, 2 * torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    z = KF.sigmoid(x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


@needs_ext
def test_create_graph_hands_the_backward_to_python():
    # As through the Python Function: the gradient is recorded through the backward
    # op, which has no formula of its own (a clear error, not a silent zero).
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(KF.relu(x).sum(), x, create_graph=True)
    assert g.requires_grad and "relu_backward" in type(g.grad_fn).__name__
    assert torch.equal(g.detach(), (x > 0).double())
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        g.sum().backward()


@needs_ext
def test_inplace_functional_keeps_training():
    x = torch.randn(6, requires_grad=True)
    h = x * 1.0
    y = KF.relu(h, inplace=True)
    assert y is h
    y.sum().backward()
    assert torch.equal(x.grad, (x > 0).float())


@needs_ext
def test_other_dtypes_and_bad_input_get_the_librarys_errors():
    with pytest.raises(pykernels.UnsupportedError, match="float16"):
        KF.relu(torch.randn(3, dtype=torch.float16, requires_grad=True))
    with pytest.raises(pykernels.UnsupportedError, match="int32"):
        KF.tanh(torch.ones(3, dtype=torch.int32))
    with pytest.raises(ValueError, match="KN_MAX_DIMS"):
        KF.sigmoid(torch.randn([1] * 9, requires_grad=True))


@needs_ext
def test_node_takes_int_parameters_and_hands_back_the_rest():
    from pykernels.torch.ops import celu, relu
    node = celu._op.forward_fast
    x = torch.randn(5, requires_grad=True)
    a = node(x, 1)  # an int parameter is a C double too
    b = node(x, 1.0)
    assert a.grad_fn.name() == NODE and torch.equal(a, b)
    # A non-tensor goes back to Python (and gets its error there).
    with pytest.raises((TypeError, AttributeError)):
        relu.relu_fast([1.0, -1.0])


def test_other_torch_version_is_not_used(monkeypatch):
    monkeypatch.setattr(torch, "__version__", "0.0.0+other")
    assert _glue._load_torch_ext() is None


def test_turned_off_by_environment(monkeypatch):
    monkeypatch.setenv("PYKERNELS_TORCH_EXT", "0")
    assert _glue._load_torch_ext() is None


@needs_ext
def test_unknown_op_is_an_error():
    with pytest.raises(ValueError, match="no kn_nosuchop_forward"):
        _glue.torch_ext.ElementwiseNode("nosuchop", 0, False, print, print)
    with pytest.raises(ValueError, match="at most"):
        _glue.torch_ext.ElementwiseNode("relu", 3, False, print, print)


# ------------------------------------------------------------------ linear's node

LINEAR = "torch::autograd::CppNode<pykernels::LinearFunction>"


def _linear_case(need, bias, dtype, layout, seed=0):
    """x:(5,7), weight:(3,7) (transposed storage when layout == "t"), bias:(3,) or None;
    requires_grad per `need` = (x, weight, bias)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5, 7, generator=g, dtype=dtype)
    w = torch.randn(7, 3, generator=g, dtype=dtype).t() if layout == "t" else torch.randn(3, 7, generator=g, dtype=dtype)
    b = torch.randn(3, generator=g, dtype=dtype) if bias else None
    for t, n in zip((x, w, b), need):
        if t is not None and n:
            t.requires_grad_()
    return x, w, b


@needs_ext
@pytest.mark.parametrize("need", [(1, 1, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype,layout", [(torch.float32, "c"), (torch.float64, "t")])
def test_linear_node_equals_the_custom_op(need, bias, dtype, layout):
    if not bias and not (need[0] or need[1]):
        pytest.skip("nothing needs a gradient")
    grads = []
    for mode in (None, Passthrough()):
        x, w, b = _linear_case(need, bias, dtype, layout)
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            if mode is None:
                y = KF.linear(x, w, b)
                assert y.grad_fn.name() == LINEAR
            else:
                with mode:
                    y = KF.linear(x, w, b)
                assert y.grad_fn.name() != LINEAR
        # x is kept only for weight's gradient, weight only for x's.
        assert len([t for t in saved if t is not None and t.numel()]) == need[0] + need[1]
        g = torch.Generator().manual_seed(2)  # a column-major gradient, the same for both
        dy = torch.randn(y.shape, generator=g, dtype=dtype).t().contiguous().t()
        y.backward(dy)
        grads.append((y.detach(), *[t.grad for t in (x, w, b) if t is not None]))
    for a, c in zip(*grads):
        assert (a is None and c is None) or torch.equal(a, c)


@needs_ext
def test_linear_node_without_grad_and_with_batch_dims():
    x = torch.randn(2, 4, 7)
    w = torch.randn(3, 7, requires_grad=True)
    with torch.no_grad():
        y = KF.linear(x, w)
    assert y.grad_fn is None and torch.allclose(y, x @ w.detach().t(), atol=1e-5)
    y = KF.linear(x, w)  # 3-D: the functional reshapes to 2-D around the node
    y.sum().backward()
    assert torch.allclose(w.grad, x.reshape(-1, 7).sum(0).expand(3, 7), atol=1e-5)


@needs_ext
def test_linear_node_errors_are_the_librarys():
    x = torch.randn(5, 7, requires_grad=True)
    with pytest.raises(ValueError, match="kn_linear_forward"):
        KF.linear(x, torch.randn(3, 6))
    with pytest.raises(pykernels.UnsupportedError):
        KF.linear(x.detach().half(), torch.randn(3, 7).half())
    with pytest.raises(pykernels.KernelError, match="does not match"):
        KF.linear(x, torch.randn(3, 7, dtype=torch.float64))


@needs_ext
def test_linear_create_graph_hands_the_backward_to_python():
    x = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(KF.linear(x, w).sum(), x, create_graph=True)
    assert torch.allclose(gx.detach(), w.detach().sum(0).expand(5, 7))
    assert "linear_backward" in type(gx.grad_fn).__name__
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        gx.sum().backward()


@needs_ext
def test_linear_gradcheck_through_the_node():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    assert KF.linear(x, w, b).grad_fn.name() == LINEAR
    assert torch.autograd.gradcheck(KF.linear, (x, w, b))


# ------------------------------------------------------------- class-index losses' node

CLASS_LOSS = "torch::autograd::CppNode<pykernels::ClassLossFunction>"

# op, a call (input, target, weight, reduction)
LOSSES = [
    ("nll_loss", lambda x, t, w, r: KF.nll_loss(x, t, w, ignore_index=2, reduction=r)),
    ("cross_entropy", lambda x, t, w, r: KF.cross_entropy(x, t, w, ignore_index=2, reduction=r,
                                                          label_smoothing=0.1)),
]


def _loss_case(shape, dtype, target_dtype, seed=0):
    """A strided input of `shape` (class dim 1, or 0 when 1-D) and targets hitting
    ignore_index 2 (C = 5)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(*shape[:-1], 2 * shape[-1], generator=g, dtype=dtype)
    rows = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = torch.randint(0, 5, rows, generator=g).to(target_dtype)
    return base, target


@needs_ext
@pytest.mark.parametrize("name,call", LOSSES, ids=[o[0] for o in LOSSES])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape,dtype,target_dtype", [
    ((6, 5), torch.float32, torch.int64),
    ((3, 5, 4), torch.float64, torch.int32),
    ((5,), torch.float64, torch.int64),
])
def test_class_loss_node_equals_the_custom_op(name, call, reduction, weighted, shape, dtype,
                                              target_dtype):
    base, target = _loss_case(shape, dtype, target_dtype)
    weight = torch.rand(5, dtype=dtype) + 0.5 if weighted else None
    results = []
    for mode in (None, Passthrough()):
        x = base[..., ::2].detach().requires_grad_()  # strided: every other element
        if mode is None:
            y = call(x, target, weight, reduction)
            assert y.grad_fn.name() == CLASS_LOSS
        else:
            with mode:
                y = call(x, target, weight, reduction)
            assert y.grad_fn.name() != CLASS_LOSS
        gy = torch.arange(1.0, y.numel() + 1, dtype=dtype).reshape(y.shape)
        y.backward(gy)
        results.append((y.detach(), x.grad))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


@needs_ext
@pytest.mark.parametrize("name,call", LOSSES, ids=[o[0] for o in LOSSES])
def test_class_loss_node_saves_and_records_only_when_needed(name, call):
    x, target = _loss_case((6, 5), torch.float32, torch.int64)
    x = x[:, ::2].contiguous()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        assert call(x, target, None, "mean").grad_fn is None  # x needs no gradient: no node
        x.requires_grad_()
        with torch.no_grad():
            assert call(x, target, None, "mean").grad_fn is None
        assert not saved
        y = call(x, target, None, "mean")
    assert y.grad_fn.name() == CLASS_LOSS
    # input, target, total_weight (the absent weight saves nothing)
    assert len(saved) == 3
    assert saved[0].data_ptr() == x.data_ptr() and torch.equal(saved[1], target)


@needs_ext
@pytest.mark.parametrize("name,call", LOSSES, ids=[o[0] for o in LOSSES])
def test_class_loss_gradcheck_through_the_node(name, call):
    x, target = _loss_case((4, 5), torch.float64, torch.int64)
    x = x[:, ::2].detach().requires_grad_()
    w = torch.rand(5, dtype=torch.float64) + 0.5
    assert call(x, target, w, "sum").grad_fn.name() == CLASS_LOSS
    assert torch.autograd.gradcheck(lambda a: call(a, target, w, "none"), (x,))


@needs_ext
@pytest.mark.parametrize("name,call", LOSSES, ids=[o[0] for o in LOSSES])
def test_class_loss_node_hands_back_what_it_does_not_run(name, call):
    x = torch.randn(4, 5, requires_grad=True)
    # A target out of range: the kernel fails, Python reruns it and raises the library's error.
    with pytest.raises(pykernels.KernelError, match="out of range"):
        call(x, torch.tensor([0, 1, 7, 3]), None, "mean")
    # Another dtype, a bad reduction, a float target... get the Python path's errors.
    with pytest.raises(pykernels.UnsupportedError, match="float16"):
        call(x.detach().half().requires_grad_(), torch.tensor([0, 1, 4, 3]), None, "mean")
    with pytest.raises(ValueError, match="reduction"):
        call(x, torch.tensor([0, 1, 4, 3]), None, "average")
    # A weight that requires grad takes the Python path: torch's NotImplementedError.
    w = torch.rand(5, requires_grad=True)
    y = call(x, torch.tensor([0, 1, 4, 3]), w, "mean")
    assert y.grad_fn.name() != CLASS_LOSS
    with pytest.raises(NotImplementedError, match="weight"):
        y.backward()


@needs_ext
def test_class_loss_create_graph_hands_the_backward_to_python():
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0, 1, 4, 3])
    (gx,) = torch.autograd.grad(KF.cross_entropy(x, t), x, create_graph=True)
    (expected,) = torch.autograd.grad(torch.nn.functional.cross_entropy(x, t), x)
    torch.testing.assert_close(gx.detach(), expected)
    assert "cross_entropy_backward" in type(gx.grad_fn).__name__
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        gx.sum().backward()


@needs_ext
def test_unknown_class_loss_is_an_error():
    with pytest.raises(ValueError, match="unknown op mse_loss"):
        _glue.torch_ext.ClassLossNode("mse_loss", print, print)


# ----------------------------------------------------------------- max_pool2d's node

MAX_POOL = "torch::autograd::CppNode<pykernels::MaxPool2dFunction>"


@needs_ext
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", [
    (2, None, 0, 1, False),
    (3, 2, 1, 1, True),
    ((3, 2), (1, 2), (1, 0), (2, 1), False),
])
@pytest.mark.parametrize("dtype,layout", [(torch.float32, "channels_last"), (torch.float64, "sliced")])
def test_max_pool2d_node_equals_the_custom_op(kernel, stride, padding, dilation, ceil_mode, dtype,
                                              layout):
    g = torch.Generator().manual_seed(3)
    base = torch.randn(2, 3, 9, 16, generator=g, dtype=dtype)
    results = []
    for mode in (None, Passthrough()):
        x = base.contiguous(memory_format=torch.channels_last) if layout == "channels_last" \
            else base[..., ::2]
        x = x.detach().requires_grad_()
        call = lambda: KF.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode,  # noqa: E731
                                     return_indices=True)
        if mode is None:
            y, indices = call()
            assert y.grad_fn.name() == MAX_POOL and not indices.requires_grad
        else:
            with mode:
                y, indices = call()
            assert y.grad_fn.name() != MAX_POOL
        y.backward(torch.arange(1.0, y.numel() + 1, dtype=dtype).reshape(y.shape))
        results.append((y.detach(), indices, x.grad))
    for a, b in zip(*results):
        assert torch.equal(a, b)
    ref_y, ref_i = torch.nn.functional.max_pool2d(base if layout != "sliced" else base[..., ::2],
                                                  kernel, stride, padding, dilation, ceil_mode,
                                                  return_indices=True)
    assert torch.equal(results[0][0], ref_y) and torch.equal(results[0][1], ref_i)


@needs_ext
def test_max_pool2d_node_saves_the_indices_only_when_needed():
    x = torch.randn(2, 3, 8, 8)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        assert KF.max_pool2d(x, 2).grad_fn is None
        x.requires_grad_()
        with torch.no_grad():
            assert KF.max_pool2d(x, 2).grad_fn is None
        assert not saved
        y, indices = KF.max_pool2d(x, 2, return_indices=True)
    assert y.grad_fn.name() == MAX_POOL
    assert len(saved) == 1 and torch.equal(saved[0], indices)


@needs_ext
def test_max_pool2d_gradcheck_through_the_node():
    x = torch.randn(1, 2, 6, 7, dtype=torch.float64, requires_grad=True)
    assert KF.max_pool2d(x, 3, 2, 1).grad_fn.name() == MAX_POOL
    assert torch.autograd.gradcheck(lambda a: KF.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))


@needs_ext
def test_max_pool2d_node_hands_back_what_it_does_not_run():
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    with pytest.raises(pykernels.ShapeError, match="too small for the pooling window"):
        KF.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="pad should be at most half"):
        KF.max_pool2d(x, 2, padding=2)
    with pytest.raises(pykernels.UnsupportedError, match="float16"):
        KF.max_pool2d(x.detach().half().requires_grad_(), 2)
    # An unbatched input is made 4-D by functional, and runs on the node.
    y = KF.max_pool2d(x[0], 2)
    assert y.shape == (3, 2, 2) and y.grad_fn is not None


@needs_ext
def test_max_pool2d_create_graph_hands_the_backward_to_python():
    # The backward is recorded when its input needs a gradient: here a grad_output that does.
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    gy = torch.rand(1, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(KF.max_pool2d(x, 2), x, gy, create_graph=True)
    (expected,) = torch.autograd.grad(torch.nn.functional.max_pool2d(x, 2), x, gy)
    assert torch.equal(gx.detach(), expected)
    assert "max_pool2d_backward" in type(gx.grad_fn).__name__
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        gx.sum().backward()


# ------------------------------------------------------------------ embedding's node

EMBEDDING = "torch::autograd::CppNode<pykernels::EmbeddingFunction>"


@needs_ext
@pytest.mark.parametrize("ids_shape,index_dtype", [((7,), torch.int64), ((3, 4), torch.int32),
                                                   ((2, 2, 3), torch.int64)])
@pytest.mark.parametrize("padding_idx,scale", [(None, False), (2, False), (-1, True)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_embedding_node_equals_the_custom_op(ids_shape, index_dtype, padding_idx, scale, dtype):
    g = torch.Generator().manual_seed(5)
    base = torch.randn(6, 10, generator=g, dtype=dtype)
    ids = torch.randint(0, 6, ids_shape, generator=g).to(index_dtype)  # repeats: sums in order
    results = []
    for mode in (None, Passthrough()):
        w = base[:, ::2].detach().requires_grad_()  # strided weight
        call = lambda: KF.embedding(ids, w, padding_idx, scale_grad_by_freq=scale)  # noqa: E731
        if mode is None:
            y = call()
            assert y.grad_fn.name() == EMBEDDING
        else:
            with mode:
                y = call()
            assert y.grad_fn.name() != EMBEDDING
        y.backward(torch.arange(1.0, y.numel() + 1, dtype=dtype).reshape(y.shape))
        results.append((y.detach(), w.grad))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    assert torch.equal(results[0][0], torch.nn.functional.embedding(ids, base[:, ::2]))


@needs_ext
def test_embedding_node_saves_the_indices_only_when_needed():
    w, ids = torch.randn(5, 3), torch.tensor([[0, 4], [4, 1]])
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        assert KF.embedding(ids, w).grad_fn is None
        w.requires_grad_()
        with torch.no_grad():
            assert KF.embedding(ids, w).grad_fn is None
        assert not saved
        y = KF.embedding(ids, w)
    assert y.grad_fn.name() == EMBEDDING
    assert len(saved) == 1 and torch.equal(saved[0], ids)


@needs_ext
def test_embedding_gradcheck_through_the_node():
    w = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([[0, 4, 4], [2, 1, 0]])
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: not a Jacobian)
    assert KF.embedding(ids, w).grad_fn.name() == EMBEDDING
    assert torch.autograd.gradcheck(lambda a: KF.embedding(ids, a), (w,))


@needs_ext
def test_embedding_node_hands_back_what_it_does_not_run():
    w = torch.randn(5, 3, requires_grad=True)
    with pytest.raises(pykernels.KernelError, match="out of range"):
        KF.embedding(torch.tensor([0, 5]), w)
    with pytest.raises(pykernels.UnsupportedError, match="float16"):
        KF.embedding(torch.tensor([0, 1]), w.detach().half().requires_grad_())
    with pytest.raises(TypeError, match="torch.int64 or torch.int32"):
        KF.embedding(torch.tensor([0.0, 1.0]), w)


@needs_ext
def test_embedding_create_graph_hands_the_backward_to_python():
    w = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([0, 4, 4])
    gy = torch.rand(3, 3, dtype=torch.float64, requires_grad=True)
    (gw,) = torch.autograd.grad(KF.embedding(ids, w), w, gy, create_graph=True)
    (expected,) = torch.autograd.grad(torch.nn.functional.embedding(ids, w), w, gy)
    assert torch.equal(gw.detach(), expected)
    assert "embedding_backward" in type(gw.grad_fn).__name__
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        gw.sum().backward()


# --------------------------------------------- in-place element-wise ops through the node

# ops whose backward reads the output: inplace=True runs on the node in place
IN_PLACE = [
    ("relu", lambda x: KF.relu(x, inplace=True), torch.relu_),
    ("hardtanh", lambda x: KF.hardtanh(x, -0.5, 0.25, inplace=True),
     lambda x: torch.nn.functional.hardtanh(x, -0.5, 0.25, inplace=True)),
    ("relu6", lambda x: KF.relu6(x, inplace=True),
     lambda x: torch.nn.functional.relu6(x, inplace=True)),
]


@needs_ext
@pytest.mark.parametrize("name,ours,theirs", IN_PLACE, ids=[o[0] for o in IN_PLACE])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_in_place_runs_in_place_with_torchs_autograd(name, ours, theirs, dtype):
    g = torch.Generator().manual_seed(7)
    base = torch.randn(6, 9, generator=g, dtype=dtype) * 4
    results = []
    for op in (ours, theirs):
        x = base.clone().requires_grad_()
        h = x * 1.5  # a non-leaf: in place is allowed
        ptr, version = h.data_ptr(), h._version
        y = op(h)
        assert y is h and h.data_ptr() == ptr and h._version > version
        log = OpLog()
        with log:
            (dx,) = torch.autograd.grad(y, x, torch.arange(54.0, dtype=dtype).reshape(6, 9))
        results.append((y.detach().clone(), dx, log.ops))
    assert results[0][0].equal(results[1][0]) and results[0][1].equal(results[1][1])
    # Ours ran no zero fill or addition: no copy_ with its CopyBackwards was recorded.
    assert not any(("zero" in o or "fill" in o or "add" in o or "copy" in o)
                   for o in results[0][2]), results[0][2]


@needs_ext
def test_in_place_records_the_node_and_bumps_the_version_without_grad():
    x = torch.randn(5, 4, requires_grad=True)
    h = x * 1.0
    assert KF.relu(h, inplace=True).grad_fn.name() == NODE
    z = torch.randn(5, 4)
    expected, version = torch.relu(z), z._version
    with torch.no_grad():
        assert KF.relu(z, inplace=True) is z
    assert torch.equal(z, expected) and z._version == version + 1


@needs_ext
def test_in_place_declines_what_torch_must_handle():
    # A leaf that requires grad: torch's error, and nothing written.
    x = torch.randn(4, requires_grad=True)
    before = x.detach().clone()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        KF.relu(x, inplace=True)
    assert torch.equal(x.detach(), before)
    # A view of a non-leaf: torch's view bookkeeping (CopySlices), same gradients as torch.
    grads = []
    for op in (lambda v: KF.relu(v, inplace=True), torch.relu_):
        x = torch.randn(4, 6, generator=torch.Generator().manual_seed(2), requires_grad=True)
        h = x * 2
        op(h[:, ::2])
        (g,) = torch.autograd.grad(h, x, torch.ones(4, 6))
        grads.append((h.detach(), g))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])
    # An expanded (stride-0) tensor cannot be written in place: torch's error from copy_.
    e = torch.randn(1, 3).expand(4, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        KF.relu(e, inplace=True)
    # A saved output overwritten afterwards: torch's error at backward.
    x = torch.randn(5, requires_grad=True)
    s = KF.sigmoid(x * 1.0)  # saves its output
    KF.relu(s, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
