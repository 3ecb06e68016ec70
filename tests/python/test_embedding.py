"""pykernels.torch embedding: parity with torch.nn.functional.embedding for every option
(padding_idx incl. negative, max_norm's in-place effect for norm types 1, 2, 3.5, inf,
scale_grad_by_freq), non-contiguous weight / indices / grad_output, gradcheck, opcheck of
the three custom ops, torch.compile(fullgraph=True) forward and backward, nothing saved
without grad, determinism, nn.Embedding / from_pretrained / state_dict both ways /
convert(), the NumPy path, bad input -> clear exceptions."""
import numpy as np
import pytest
import torch

import pykernels as pk
import pykernels.torch as pkt
import pykernels.torch.nn as knn
from _helpers import count_saved, strided
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import embedding as ops

TF = torch.nn.functional


def grads(fn, idx, weight, gy, **kw):
    w = weight.detach().clone().requires_grad_()
    y = fn(idx, w, **kw)
    (dw,) = torch.autograd.grad(y, w, gy)
    return y, dw, w.detach()


def index_tensor(shape, rows, dtype=torch.int64, layout="contiguous", repeats=None):
    """Random indices in [0, rows) (or [0, repeats)), in the given memory layout."""
    hi = repeats or rows
    if layout == "contiguous" or len(shape) == 0:
        return torch.randint(0, hi, shape, dtype=dtype)
    if layout == "transposed" and len(shape) >= 2:
        return torch.randint(0, hi, shape[:-2] + (shape[-1], shape[-2]), dtype=dtype).transpose(-1, -2)
    t = torch.randint(0, hi, shape[:-1] + (2 * shape[-1],), dtype=dtype)
    return t[..., ::2] if layout == "sliced" else t.flip(-1)[..., ::2]  # "reversed": negative strides


OPTIONS = [dict(), dict(padding_idx=3), dict(padding_idx=0), dict(padding_idx=-1),
           dict(padding_idx=-20), dict(scale_grad_by_freq=True),
           dict(padding_idx=2, scale_grad_by_freq=True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kw", OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
@pytest.mark.parametrize("index_dtype", [torch.int64, torch.int32])
def test_parity_forward_and_backward(dtype, kw, index_dtype):
    weight = torch.randn(20, 7, dtype=dtype)
    idx = index_tensor((6, 5), 20, index_dtype, repeats=8)
    idx[0, 0] = idx[1, 1] = 3  # a repeated row, and the padding row of padding_idx=3
    gy = torch.randn(6, 5, 7, dtype=dtype)
    y, dw, _ = grads(F.embedding, idx, weight, gy, **kw)
    y_t, dw_t, _ = grads(TF.embedding, idx, weight, gy, **kw)
    assert torch.equal(y, y_t)
    if not kw.get("scale_grad_by_freq"):
        assert torch.equal(dw, dw_t)  # the same float sums in the same order as index_add_
    torch.testing.assert_close(dw, dw_t)


@pytest.mark.parametrize("shape", [(), (0,), (4,), (3, 0, 2), (2, 3, 4), (2, 1, 2, 1, 3, 1, 2)])
def test_index_shapes(shape):
    weight = torch.randn(9, 4, dtype=torch.float64)
    idx = index_tensor(shape, 9)
    gy = torch.randn(*shape, 4, dtype=torch.float64)
    y, dw, _ = grads(F.embedding, idx, weight, gy)
    y_t, dw_t, _ = grads(TF.embedding, idx, weight, gy)
    assert y.shape == y_t.shape
    torch.testing.assert_close(y, y_t, rtol=0, atol=0)
    torch.testing.assert_close(dw, dw_t)


@pytest.mark.parametrize("wl", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("il", ["contiguous", "transposed", "sliced", "reversed"])
@pytest.mark.parametrize("gl", ["contiguous", "transposed", "sliced"])
def test_non_contiguous(wl, il, gl):
    weight = strided((15, 6), torch.float64, wl)
    idx = index_tensor((4, 5), 15, layout=il, repeats=6)
    gy = strided((4, 5, 6), torch.float64, gl)
    kw = dict(padding_idx=1, scale_grad_by_freq=True)
    y, dw, _ = grads(F.embedding, idx, weight, gy, **kw)
    y_t, dw_t, _ = grads(TF.embedding, idx, weight, gy, **kw)
    torch.testing.assert_close(y, y_t, rtol=0, atol=0)
    torch.testing.assert_close(dw, dw_t)
    # a grad_output with stride 0 (expand), as autograd hands over for sum()
    w = weight.detach().clone().requires_grad_()
    F.embedding(idx, w).sum().backward()
    w_t = weight.detach().clone().requires_grad_()
    TF.embedding(idx, w_t).sum().backward()
    torch.testing.assert_close(w.grad, w_t.grad)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 2.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_max_norm_renormalises_in_place_like_torch(norm_type, max_norm, dtype):
    base = torch.randn(30, 6, dtype=dtype) * 2
    idx = index_tensor((5, 4), 30, repeats=12)
    w, w_t = base.clone().requires_grad_(), base.clone().requires_grad_()
    gy = torch.randn(5, 4, 6, dtype=dtype)
    kw = dict(max_norm=max_norm, norm_type=norm_type)
    y, y_t = F.embedding(idx, w, **kw), TF.embedding(idx, w_t, **kw)
    torch.testing.assert_close(y, y_t)
    torch.testing.assert_close(w.detach(), w_t.detach())  # the in-place effect on weight
    untouched = torch.ones(30, dtype=torch.bool)
    untouched[idx.flatten()] = False
    assert torch.equal(w.detach()[untouched], base[untouched])
    norms = torch.linalg.vector_norm(w.detach()[idx.flatten()], ord=norm_type, dim=1)
    assert (norms <= max_norm * (1 + 1e-5)).all()
    (dw,), (dw_t,) = torch.autograd.grad(y, w, gy), torch.autograd.grad(y_t, w_t, gy)
    torch.testing.assert_close(dw, dw_t)


def test_max_norm_bumps_version_like_torch():
    w = torch.randn(10, 3) * 5
    v = w._version
    F.embedding(torch.tensor([1, 2]), w, max_norm=1.0)
    assert w._version > v
    with torch.inference_mode():
        wi = torch.randn(10, 3) * 5
        F.embedding(torch.tensor([1, 2]), wi, max_norm=1.0)  # no version counter: no error
        assert torch.linalg.vector_norm(wi[1]) <= 1.0 + 1e-6


def test_many_repeats_deterministic_and_exact():
    weight = torch.randn(50, 33)
    idx = torch.randint(0, 3, (64, 32))
    gy = torch.randn(64, 32, 33)
    _, a, _ = grads(F.embedding, idx, weight, gy)
    _, b, _ = grads(F.embedding, idx, weight, gy)
    _, t, _ = grads(TF.embedding, idx, weight, gy)
    assert torch.equal(a, b)
    assert torch.equal(a, t)
    n = pk.get_num_threads()
    try:
        pk.set_num_threads(1)
        _, one, _ = grads(F.embedding, idx, weight, gy)
    finally:
        pk.set_num_threads(n)
    assert torch.equal(one, a)


def test_gradcheck():
    w = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    idx = torch.tensor([[0, 2, 2], [7, 0, 5]])
    assert torch.autograd.gradcheck(lambda t: F.embedding(idx, t), (w,))
    assert torch.autograd.gradcheck(lambda t: A.EmbeddingFunction.apply(t, idx.t()), (w,))
    # padding_idx and scale_grad_by_freq are not true derivatives (torch's are neither):
    # they are compared with torch in test_parity_forward_and_backward.


def test_opcheck():
    w = strided((12, 5), torch.float64, "transposed", requires_grad=True)
    idx = index_tensor((3, 4), 12, layout="sliced")
    torch.library.opcheck(ops.embedding, (w, idx, -1, False))
    torch.library.opcheck(ops.embedding, (w, idx.to(torch.int32), 2, True))
    gy = strided((3, 4, 5), torch.float64, "sliced")
    torch.library.opcheck(ops.embedding_backward, (gy, idx, 12, 3, True))
    torch.library.opcheck(ops.embedding_renorm_, (torch.randn(12, 5) * 3, idx, 1.0, 2.0))


def test_compile_fullgraph_forward_and_backward():
    torch._dynamo.reset()
    emb = knn.Embedding(40, 8, padding_idx=0)
    lin = torch.nn.Linear(8, 1)

    def f(idx):
        return lin(F.embedding(idx, emb.weight, padding_idx=0, scale_grad_by_freq=True)).sum()

    idx = torch.randint(0, 40, (6, 5))
    compiled = torch.compile(f, fullgraph=True)
    loss = compiled(idx)
    loss.backward()
    got = emb.weight.grad.clone()
    emb.weight.grad = None
    f(idx).backward()
    torch.testing.assert_close(got, emb.weight.grad)
    torch.testing.assert_close(loss, f(idx))


def test_compile_fullgraph_max_norm():
    torch._dynamo.reset()
    base = torch.randn(20, 4) * 3
    w, w_ref = base.clone(), base.clone()
    idx = torch.randint(0, 20, (7,))
    f = torch.compile(lambda i, t: F.embedding(i, t, max_norm=1.0), fullgraph=True)
    torch.testing.assert_close(f(idx, w), TF.embedding(idx, w_ref, max_norm=1.0))
    torch.testing.assert_close(w, w_ref)


@pytest.mark.parametrize("call", ["functional", "module", "Function"])
@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_nothing_saved_without_grad(call, mode):
    m = knn.Embedding(10, 3)
    fns = {"functional": lambda w, i: F.embedding(i, w), "module": lambda w, i: m(i),
           "Function": lambda w, i: A.EmbeddingFunction.apply(w, i)}
    w = m.weight
    idx = torch.tensor([[1, 2], [3, 1]])
    n, out = count_saved(lambda: fns[call](w, idx))
    assert n == 1 and out.grad_fn is not None  # the indices only
    with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
        n, out = count_saved(lambda: fns[call](w, idx))
    assert n == 0 and out.grad_fn is None


def test_nn_embedding_like_torch():
    torch.manual_seed(3)
    ref = torch.nn.Embedding(25, 6, padding_idx=-2, max_norm=None, scale_grad_by_freq=True)
    torch.manual_seed(3)
    ours = knn.Embedding(25, 6, padding_idx=-2, scale_grad_by_freq=True)
    assert type(ours).__bases__ == (torch.nn.Embedding,) and type(ours).__name__ == "Embedding"
    assert repr(ours) == repr(ref) and torch.equal(ours.weight, ref.weight)
    assert ours.padding_idx == 23 and (ours.weight[23] == 0).all()
    idx = torch.randint(0, 25, (4, 9))
    idx[0, 0] = 23
    torch.testing.assert_close(ours(idx), ref(idx))
    ours(idx).sum().backward()
    ref(idx).sum().backward()
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    # state dicts load both ways
    other = torch.nn.Embedding(25, 6)
    other.load_state_dict(ours.state_dict())
    assert torch.equal(other.weight, ours.weight)
    fresh = knn.Embedding(25, 6)
    fresh.load_state_dict(torch.nn.Embedding(25, 6).state_dict())


def test_from_pretrained_and_max_norm_module():
    table = torch.randn(12, 5) * 4
    ours = knn.Embedding.from_pretrained(table.clone(), freeze=False, max_norm=1.5, norm_type=3.5)
    ref = torch.nn.Embedding.from_pretrained(table.clone(), freeze=False, max_norm=1.5, norm_type=3.5)
    assert type(ours) is knn.Embedding and ours.weight.requires_grad
    idx = torch.tensor([[1, 5, 5], [11, 0, 1]])
    torch.testing.assert_close(ours(idx), ref(idx))
    torch.testing.assert_close(ours.weight, ref.weight)
    frozen = knn.Embedding.from_pretrained(table, padding_idx=2)
    assert type(frozen) is knn.Embedding and not frozen.weight.requires_grad
    torch.testing.assert_close(frozen(idx), table[idx])


def test_convert_switches_embedding():
    model = torch.nn.Sequential(torch.nn.Embedding(30, 8), torch.nn.Linear(8, 2))
    idx = torch.randint(0, 30, (3, 4))
    want = model(idx)
    report = pkt.convert(model)
    assert type(model[0]) is knn.Embedding
    assert report[0].replaced and report[0].layer == "Embedding"
    torch.testing.assert_close(model(idx), want)
    from pykernels.torch.conversion import twins
    assert twins()[torch.nn.Embedding] is knn.Embedding
    # a sparse-gradient module keeps torch's forward
    sparse = torch.nn.Sequential(torch.nn.Embedding(30, 8, sparse=True))
    pkt.convert(sparse)
    sparse(idx).sum().backward()
    assert sparse[0].weight.grad.is_sparse


def test_numpy():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((20, 9))[:, ::2]  # strided
    idx = rng.integers(0, 20, (4, 6)).T  # transposed, int64
    y = pk.embedding(w, idx)
    np.testing.assert_array_equal(y, w[idx])
    out = np.empty((6, 4, 5))
    assert pk.embedding(w, idx.astype(np.int32), out=out) is out
    np.testing.assert_array_equal(out, w[idx])
    gy = rng.standard_normal((6, 4, 5))
    dw = pk.embedding_backward(gy, idx, 20, padding_idx=-1, scale_grad_by_freq=True)
    dw_t = torch.ops.aten.embedding_dense_backward(torch.from_numpy(gy), torch.from_numpy(idx), 20, 19, True)
    np.testing.assert_allclose(dw, dw_t.numpy(), rtol=1e-12, atol=1e-12)
    wr = w.copy() * 3
    wr_t = torch.from_numpy(wr.copy())
    assert pk.embedding_renorm_(wr, idx, 1.0, 2.0) is wr
    torch.embedding_renorm_(wr_t, torch.from_numpy(idx), 1.0, 2.0)
    np.testing.assert_allclose(wr, wr_t.numpy(), rtol=1e-12)
    with pytest.raises(pk.KernelError, match=r"indices\[0, 1\] = 20 is out of range"):
        pk.embedding(w, np.array([[0, 20]]))
    with pytest.raises(pk.ShapeError):
        pk.embedding(w[0], idx)
    with pytest.raises(ValueError, match="padding_idx"):
        pk.embedding_backward(gy, idx, 20, padding_idx=20)


def test_errors():
    w = torch.randn(10, 4, requires_grad=True)
    with pytest.raises(pk.KernelError, match=r"indices\[1, 0\] = 57 is out of range for weight with 10 rows"):
        F.embedding(torch.tensor([[1, 2], [57, 3]]), w)
    with pytest.raises(pk.KernelError, match=r"indices\[1\] = -1 is out of range"):
        F.embedding(torch.tensor([1, -1]), w)
    with pytest.raises(pk.KernelError, match="out of range"):
        F.embedding(torch.tensor([1, 10]), w, max_norm=1.0)  # renorm checks first, writes nothing
    with pytest.raises(TypeError, match="integer tensor"):
        F.embedding(torch.tensor([1.0, 2.0]), w)
    with pytest.raises(TypeError, match="integer tensor"):
        ops.embedding_backward(torch.randn(2, 4), torch.tensor([1.0, 2.0]), 10, -1, False)
    with pytest.raises(pk.ShapeError, match="weight: expected 2 dims"):
        F.embedding(torch.tensor([1, 2]), torch.randn(10))
    with pytest.raises(pk.ShapeError):
        F.embedding(torch.tensor([1, 2]), torch.randn(2, 10, 4))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(torch.tensor([1]), w, padding_idx=10)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(torch.tensor([1]), w, padding_idx=-11)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(torch.tensor([1]), w, sparse=True)
    with pytest.raises(pk.KernelError, match="norm_type"):
        F.embedding(torch.tensor([1]), w.detach(), max_norm=1.0, norm_type=0.0)
    with pytest.raises(pk.KernelError, match="max_norm"):
        F.embedding(torch.tensor([1]), w.detach(), max_norm=float("nan"))
    with pytest.raises(pk.ShapeError):
        ops.embedding_backward(torch.randn(3, 4), torch.tensor([[1, 2]]), 10, -1, False)
    with pytest.raises(TypeError):
        F.embedding(torch.tensor([1]), w.detach().half())
