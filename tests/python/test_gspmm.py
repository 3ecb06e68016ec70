"""gSpMM: functional.spmm vs torch.sparse.mm (values, x grads, values grads), functional.gspmm
and GSpMMFunction vs edge-list references, gradcheck, opcheck, torch.compile, nothing saved
under no_grad, the NumPy API, pykernels.torch.Graph, errors, CUDA."""
import numpy as np
import pytest
import torch

import pykernels as pk
from _helpers import strided
from pykernels.torch import Graph
from pykernels.torch import autograd as A
from pykernels.torch import functional as F
from pykernels.torch.ops import gspmm as ops

pytestmark = pytest.mark.filterwarnings("ignore:.*(Sparse|sparse|index_reduce).*:UserWarning")

DTYPES = [torch.float32, torch.float64]
INDEX_DTYPES = [torch.int32, torch.int64]
SPMM_REDUCES = ["sum", "mean", "amax", "amin"]
REDUCES = ["sum", "mean", "max", "min"]
TO_INDEX_REDUCE = {"mean": "mean", "max": "amax", "min": "amin", "amax": "amax", "amin": "amin"}


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)


def random_edges(num_src, num_dst, e, seed=0, empty_rows=3, duplicates=4):
    """(src, dst) int64 with ``empty_rows`` destinations that get no edge and ``duplicates``
    repeated (src, dst) pairs; in random order."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.randperm(num_dst, generator=g)[empty_rows:]
    dst = allowed[torch.randint(0, len(allowed), (e,), generator=g)]
    src = torch.randint(0, num_src, (e,), generator=g)
    if not duplicates:  # drop repeated (src, dst) pairs too
        key = torch.unique(dst * num_src + src)
        src, dst = key % num_src, key // num_src
        order = torch.randperm(src.numel(), generator=g)
        src, dst = src[order], dst[order]
    elif e:
        pick = torch.randint(0, e, (duplicates,), generator=g)
        src, dst = torch.cat([src, src[pick]]), torch.cat([dst, dst[pick]])
        order = torch.randperm(src.numel(), generator=g)
        src, dst = src[order], dst[order]
    return src, dst


def csr(src, dst, num_dst, index_dtype=torch.int64, sorted_cols=False):
    """(crow, col, order): the edges sorted by dst (stably; by (dst, src) if sorted_cols);
    order[k] = edge-list id."""
    key = dst * (int(src.max()) + 1 if src.numel() else 1) + src if sorted_cols else dst
    order = torch.sort(key, stable=True).indices
    crow = torch.zeros(num_dst + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(torch.bincount(dst, minlength=num_dst), 0)
    return crow.to(index_dtype), src[order].to(index_dtype), order


def reference(src, dst, num_dst, x, reduce, w=None):
    """Edge-list reference: y[v] = REDUCE over edges i with dst[i] = v of x[src[i]] (* w[i])."""
    msg = x[src] if w is None else x[src] * w[:, None]
    out = torch.zeros(num_dst, x.shape[1], dtype=x.dtype)
    if reduce == "sum":
        return out.index_add(0, dst, msg)
    return out.index_reduce(0, dst, msg, TO_INDEX_REDUCE[reduce], include_self=False)


def sparse_csr(crow, col, values, shape):
    return torch.sparse_csr_tensor(crow, col, values, shape)


# ------------------------------------------------------------- spmm vs torch


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", SPMM_REDUCES)
def test_spmm_parity_with_torch(reduce, dtype, index_dtype):
    """Empty rows and duplicate edges; strided x and strided grad_output; x grads and
    adj-values grads (leaf adj: adj.grad) equal torch.sparse.mm's."""
    num_src, num_dst = 23, 19
    src, dst = random_edges(num_src, num_dst, 70, seed=1)
    crow, col, _ = csr(src, dst, num_dst, index_dtype)
    vals = torch.randn(col.numel(), dtype=dtype)
    for i, layout in enumerate(["contiguous", "transposed", "sliced"]):
        x = strided((num_src, 6), dtype, layout, requires_grad=True)
        adj = sparse_csr(crow, col, vals.clone(), (num_dst, num_src)).requires_grad_()
        ref_adj = sparse_csr(crow, col, vals.clone(), (num_dst, num_src)).requires_grad_()
        y = F.spmm(adj, x, reduce)
        ry = torch.sparse.mm(ref_adj, x, reduce=reduce)
        torch.testing.assert_close(y, ry, **tol(dtype))
        gy = strided((num_dst, 6), dtype, ["sliced", "transposed", "contiguous"][i])
        (gx,) = torch.autograd.grad(y, x, gy, retain_graph=True)
        (rgx,) = torch.autograd.grad(ry, x, gy, retain_graph=True)
        torch.testing.assert_close(gx, rgx, **tol(dtype))
        y.backward(gy)
        ry.backward(gy)
        assert adj.grad.layout == torch.sparse_csr
        torch.testing.assert_close(adj.grad.values(), ref_adj.grad.values(), **tol(dtype))
        assert torch.equal(adj.grad.col_indices(), col)


@pytest.mark.parametrize("reduce", SPMM_REDUCES)
def test_spmm_values_grad_through_sparse_csr_tensor(reduce):
    """adj = torch.sparse_csr_tensor(crow, col, values) with values requiring grad: the
    gradient reaches values, as torch's (torch needs duplicate-free rows for this path)."""
    num_src, num_dst = 17, 13
    src, dst = random_edges(num_src, num_dst, 50, seed=2, duplicates=0)
    crow, col, _ = csr(src, dst, num_dst)
    values = torch.randn(col.numel(), dtype=torch.float64, requires_grad=True)
    x = torch.randn(num_src, 5, dtype=torch.float64, requires_grad=True)
    y = F.spmm(sparse_csr(crow, col, values, (num_dst, num_src)), x, reduce)
    ry = torch.sparse.mm(sparse_csr(crow, col, values, (num_dst, num_src)), x, reduce=reduce)
    torch.testing.assert_close(y, ry)
    gy = torch.randn_like(ry)
    for a, b in zip(torch.autograd.grad(y, (x, values), gy), torch.autograd.grad(ry, (x, values), gy)):
        torch.testing.assert_close(a, b)


def test_spmm_coo_and_int32_and_default():
    num_src, num_dst = 11, 9
    src, dst = random_edges(num_src, num_dst, 40, seed=3)
    vals = torch.randn(src.numel(), dtype=torch.float64)
    coo = torch.sparse_coo_tensor(torch.stack([dst, src]), vals, (num_dst, num_src))  # uncoalesced
    x = torch.randn(num_src, 4, dtype=torch.float64)
    ref_adj = coo.coalesce().to_sparse_csr()
    for reduce in SPMM_REDUCES:
        torch.testing.assert_close(F.spmm(coo, x, reduce), torch.sparse.mm(ref_adj, x, reduce=reduce))
    torch.testing.assert_close(F.spmm(coo, x), torch.sparse.mm(ref_adj, x))
    leaf = coo.coalesce().requires_grad_()
    F.spmm(leaf, x, "mean").sum().backward()
    ref_leaf = ref_adj.clone().requires_grad_()
    torch.sparse.mm(ref_leaf, x, reduce="mean").sum().backward()
    torch.testing.assert_close(leaf.grad.coalesce().values(), ref_leaf.grad.values())


def test_spmm_nan_like_torch():
    src, dst = random_edges(8, 6, 30, seed=15)
    crow, col, _ = csr(src, dst, 6)
    adj = sparse_csr(crow, col, torch.randn(col.numel(), dtype=torch.float64), (6, 8))
    x = torch.randn(8, 3, dtype=torch.float64)
    x[int(col[0]), 1] = float("nan")
    x[int(col[-1]), 0] = float("nan")
    for reduce in SPMM_REDUCES:
        torch.testing.assert_close(F.spmm(adj, x, reduce), torch.sparse.mm(adj, x, reduce=reduce),
                                   equal_nan=True)


def test_spmm_empty_graph_and_features():
    adj = sparse_csr(torch.zeros(4, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
                     torch.zeros(0), (3, 5))
    x = torch.randn(5, 2, requires_grad=True)
    y = F.spmm(adj, x, "amax")
    assert y.shape == (3, 2) and not y.any()
    (gx,) = torch.autograd.grad(y.sum(), x)
    assert not gx.any()
    assert F.spmm(adj, torch.randn(5, 0)).shape == (3, 0)


# ------------------------------------------------------------- gspmm on a Graph


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("message", ["copy_u", "u_mul_e"])
@pytest.mark.parametrize("reduce", REDUCES)
def test_gspmm_vs_edge_list_reference(reduce, message, dtype, index_dtype):
    """Graph.from_edges keeps the permutation: edge values in edge-list order."""
    num_src, num_dst = 21, 16
    src, dst = random_edges(num_src, num_dst, 60, seed=4)  # copy_u max: duplicates tie
    g = Graph.from_edges(src.to(index_dtype), dst.to(index_dtype), (num_src, num_dst))
    assert g.index_dtype == index_dtype and g.edge_perm is not None
    x = strided((num_src, 7), dtype, "transposed", requires_grad=True)
    w = torch.randn(src.numel(), dtype=dtype, requires_grad=True) if message == "u_mul_e" else None
    y = F.gspmm(g, x, message, reduce, w)
    xr = x.detach().clone().requires_grad_()
    wr = None if w is None else w.detach().clone().requires_grad_()
    ry = reference(src, dst, num_dst, xr, reduce, wr)
    torch.testing.assert_close(y, ry, **tol(dtype))
    gy = strided((num_dst, 7), dtype, "sliced")
    leaves, rleaves = ((x,), (xr,)) if w is None else ((x, w), (xr, wr))
    for a, b in zip(torch.autograd.grad(y, leaves, gy), torch.autograd.grad(ry, rleaves, gy)):
        torch.testing.assert_close(a, b, **tol(dtype))


def test_u_mul_e_sum_vs_dense_matmul():
    num_src, num_dst = 30, 25
    src, dst = random_edges(num_src, num_dst, 120, seed=5)
    g = Graph.from_edges(src, dst, (num_src, num_dst))
    w = torch.randn(src.numel(), dtype=torch.float64)
    dense = torch.zeros(num_dst, num_src, dtype=torch.float64).index_put_((dst, src), w, accumulate=True)
    x = torch.randn(num_src, 8, dtype=torch.float64)
    torch.testing.assert_close(F.gspmm(g, x, "u_mul_e", "sum", w), dense @ x)
    deg = torch.bincount(dst, minlength=num_dst).clamp(min=1).to(x.dtype)
    torch.testing.assert_close(F.gspmm(g, x, "u_mul_e", "mean", w), (dense @ x) / deg[:, None])
    counts = torch.zeros(num_dst, num_src, dtype=x.dtype).index_put_(
        (dst, src), torch.ones_like(w), accumulate=True)
    torch.testing.assert_close(F.gspmm(g, x), counts @ x)


def _tie_free(shape, dtype=torch.float64):
    return (torch.randperm(int(np.prod(shape)), dtype=dtype).reshape(shape) * 0.01 + 0.1)


def test_gradcheck():
    num_src, num_dst = 7, 6
    src, dst = random_edges(num_src, num_dst, 18, seed=6, empty_rows=1, duplicates=0)
    g = Graph.from_edges(src, dst, (num_src, num_dst))
    x = _tie_free((num_src, 3)).requires_grad_()
    w = (torch.rand(src.numel(), dtype=torch.float64) + 0.5).requires_grad_()
    for reduce in REDUCES:
        assert torch.autograd.gradcheck(lambda a: F.gspmm(g, a, "copy_u", reduce), (x,))
        assert torch.autograd.gradcheck(lambda a, b: F.gspmm(g, a, "u_mul_e", reduce, b), (x, w))
    # torch's sparse_csr_tensor backward hands values their gradient only for a canonical
    # CSR (sorted columns, no duplicates), also with torch.sparse.mm
    crow, col, order = csr(src, dst, num_dst, sorted_cols=True)
    vals = w.detach()[order].clone().requires_grad_()
    for reduce in SPMM_REDUCES:
        assert torch.autograd.gradcheck(
            lambda a, v: F.spmm(sparse_csr(crow, col, v, (num_dst, num_src)), a, reduce), (x, vals))
    t = ops.csr_transpose(crow, col, num_src)
    for reduce in REDUCES:
        assert torch.autograd.gradcheck(
            lambda a, v: A.GSpMMFunction.apply(crow, col, a, v, *t, "u_mul_e", reduce)[0], (x, vals))
    # without the transpose (built in the backward) and with the defaults
    assert torch.autograd.gradcheck(lambda a: A.GSpMMFunction.apply(crow, col, a)[0], (x,))


def test_arg_output_and_not_differentiable():
    src, dst = torch.tensor([0, 1, 2, 1]), torch.tensor([0, 0, 2, 2])
    g = Graph.from_edges(src, dst, 4)
    x = torch.tensor([[1.0, 5.0], [3.0, 2.0], [0.5, 9.0], [7.0, 7.0]], requires_grad=True)
    y, arg = A.GSpMMFunction.apply(g.indptr, g.indices, x, None, *g.transpose(), "copy_u", "max",
                                   True)
    assert torch.equal(arg, torch.tensor([[1, 0], [-1, -1], [3, 2], [-1, -1]]))
    assert not arg.requires_grad and y.requires_grad
    y2, arg2 = ops.gspmm(g.indptr, g.indices, x.detach(), None, None, None, None, "copy_u", "sum",
                         False)
    assert arg2.numel() == 0 and arg2.dtype == torch.int64


def test_opcheck():
    num_src, num_dst = 9, 8
    src, dst = random_edges(num_src, num_dst, 25, seed=7)
    for i, reduce in enumerate(REDUCES):
        crow, col, _ = csr(src, dst, num_dst, INDEX_DTYPES[i % 2])
        if i < 2:
            torch.library.opcheck(ops.csr_transpose, (crow, col, num_src))
        t = ops.csr_transpose(crow, col, num_src)
        x = strided((num_src, 4), torch.float64, "transposed", requires_grad=True)
        w = torch.randn(col.numel(), dtype=torch.float64, requires_grad=True)
        torch.library.opcheck(ops.gspmm, (crow, col, x, w, *t, "u_mul_e", reduce, False))
        torch.library.opcheck(ops.gspmm, (crow, col, x, None, *t, "copy_u", reduce, True))
        y, arg = ops.gspmm(crow, col, x.detach(), w.detach(), None, None, None, "u_mul_e",
                           reduce, False)
        gy = strided(tuple(y.shape), torch.float64, "sliced")
        if i % 2:
            args = (gy, crow, col, *t, w.detach(), x.detach(), arg, "u_mul_e", reduce, True, True,
                    False)
        else:
            args = (gy, crow, col, None, None, None, None, x.detach(), arg, "u_mul_e", reduce,
                    False, True, True)
        torch.library.opcheck(ops.gspmm_backward, args)


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    num_src, num_dst = 15, 12
    src, dst = random_edges(num_src, num_dst, 50, seed=8)
    x = torch.randn(num_src, 5, requires_grad=True)
    w = torch.randn(src.numel(), requires_grad=True)

    def step(fn, g):
        y = fn(g, x, w)
        gx, gw = torch.autograd.grad((y * y).sum(), (x, w))
        return y.detach(), gx, gw

    def f(g, a, b):
        return (F.gspmm(g, a, "u_mul_e", "mean", b) + F.gspmm(g, a, "copy_u", "max")
                + F.gspmm(g, a, "u_mul_e", "sum", b))

    eager = step(f, Graph.from_edges(src, dst, (num_src, num_dst)))
    g = Graph.from_edges(src, dst, (num_src, num_dst))  # its transpose is built in the trace
    compiled = step(torch.compile(f, fullgraph=True), g)
    assert g._transpose is not None
    for a, b in zip(compiled, eager):
        torch.testing.assert_close(a, b)
    compiled = step(torch.compile(f, fullgraph=True), g)  # cached transpose as an input
    for a, b in zip(compiled, eager):
        torch.testing.assert_close(a, b)


def _count_saved(fn):
    packed = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        out = fn()
    return len(packed), out


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_saved_tensors_only_when_needed(mode):
    src, dst = random_edges(10, 10, 30, seed=9)
    g = Graph.from_edges(src, dst)
    x = torch.randn(10, 3, requires_grad=True)
    w = torch.randn(src.numel(), requires_grad=True)
    crow, col, _ = csr(src, dst, 10)
    adj = sparse_csr(crow, col, torch.randn(col.numel()), (10, 10))
    cases = [  # (call, tensors saved with grad)
        (lambda: F.gspmm(g, x), 5),                                   # indptr, indices, t_*
        (lambda: F.gspmm(g, x, reduce="max"), 6),                     # + arg
        (lambda: F.gspmm(g, x, "u_mul_e", "sum", w), 8),  # + edge_values, x, edge_perm
        (lambda: F.gspmm(g, x.detach(), "u_mul_e", "mean", w), 4),  # indptr, indices, x, perm
        (lambda: F.gspmm(g, x.detach(), "u_mul_e", "min", w), 5),   # + arg
        (lambda: F.spmm(adj, x), 6),                                  # indptr, indices, t_*, values
        (lambda: A.GSpMMFunction.apply(g.indptr, g.indices, x)[0], 2),  # no transpose given
    ]
    for call, expected in cases:
        n, out = _count_saved(call)
        assert n == expected and out.grad_fn is not None
        with torch.no_grad() if mode == "no_grad" else torch.inference_mode():
            n, out = _count_saved(call)
        assert n == 0 and out.grad_fn is None
    n, out = _count_saved(lambda: F.gspmm(g, x.detach(), "u_mul_e", "sum", w.detach()))
    assert n == 0 and out.grad_fn is None


# ------------------------------------------------------------------- NumPy


def _np_reference(indptr, indices, x, reduce, w=None):
    y = np.zeros((len(indptr) - 1, x.shape[1]), x.dtype)
    for v in range(len(indptr) - 1):
        ks = np.arange(indptr[v], indptr[v + 1])
        if len(ks):
            m = x[indices[ks]] * (1 if w is None else w[ks][:, None])
            y[v] = {"sum": m.sum, "mean": m.mean, "max": m.max, "min": m.min}[reduce](0)
    return y


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_numpy_api(index_dtype):
    num_src, num_dst = 13, 11
    src, dst = random_edges(num_src, num_dst, 45, seed=10)
    crow, col, _ = csr(src, dst, num_dst)
    indptr, indices = crow.numpy().astype(index_dtype), col.numpy().astype(index_dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, num_src))[::-1].T  # transposed, negative strides
    w = rng.standard_normal(len(indices) * 2)[::2]
    t_indptr, t_indices, t_edge_ids = pk.csr_transpose(indptr, indices, num_src)
    assert t_indptr.dtype == index_dtype
    order = np.argsort(indices, kind="stable")
    np.testing.assert_array_equal(t_edge_ids, order)
    np.testing.assert_array_equal(t_indices, np.repeat(np.arange(num_dst), np.diff(indptr))[order])
    np.testing.assert_array_equal(t_indptr, np.concatenate([[0], np.cumsum(np.bincount(indices, minlength=num_src))]))
    for reduce in REDUCES:
        for message, ev in (("copy_u", None), ("u_mul_e", w)):
            out = pk.gspmm(indptr, indices, x, message, reduce, ev)
            y = out[0] if reduce in ("max", "min") else out
            np.testing.assert_allclose(y, _np_reference(indptr, indices, x, reduce, ev), rtol=1e-12, atol=1e-12)
            if reduce in ("max", "min"):
                arg = out[1]
                assert arg.dtype == index_dtype and arg.shape == y.shape
                assert (arg[np.diff(indptr) == 0] == -1).all()
    # backward vs the torch reference
    y, arg = pk.gspmm(indptr, indices, x, "u_mul_e", "max", w)
    gy = rng.standard_normal(y.shape)
    dx, dw = pk.gspmm_backward(gy, indptr, indices, x, "u_mul_e", "max", w, arg)
    xt, wt = torch.tensor(x.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    ref = reference(torch.as_tensor(indices.astype(np.int64)),
                    torch.repeat_interleave(torch.arange(num_dst), torch.as_tensor(np.diff(indptr).astype(np.int64))),
                    num_dst, xt, "max", wt)
    rdx, rdw = torch.autograd.grad(ref, (xt, wt), torch.as_tensor(gy))
    np.testing.assert_allclose(dx, rdx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, rdw.numpy(), rtol=1e-12, atol=1e-12)
    dx2, none = pk.gspmm_backward(gy, indptr, indices, x, "copy_u", "mean",
                                  transpose=(t_indptr, t_indices, t_edge_ids))
    assert none is None and dx2.shape == x.shape
    y32 = pk.gspmm(indptr, indices, x.astype(np.float32), reduce="mean")
    assert y32.dtype == np.float32


# ------------------------------------------------------------------- Graph


def test_graph_from_edges_and_sparse():
    src = torch.tensor([0, 2, 1, 2, 0, 3])
    dst = torch.tensor([1, 0, 1, 2, 0, 1])
    g = Graph.from_edges(src, dst)
    assert (g.num_src, g.num_dst, g.num_edges) == (4, 4, 6)
    assert g.indptr.tolist() == [0, 2, 5, 6, 6]
    assert g.indices.tolist() == [2, 0, 0, 1, 3, 2]
    assert g.edge_perm.tolist() == [1, 4, 0, 2, 5, 3]
    assert torch.equal(g.in_degrees(), torch.tensor([2, 3, 1, 0]))
    assert torch.equal(g.out_degrees(), torch.bincount(src, minlength=4))
    assert repr(g) == ("Graph(num_src=4, num_dst=4, num_edges=6, index_dtype=torch.int64, "
                       "device=cpu)")
    sorted_g = Graph.from_edges([0, 1, 1], [0, 0, 2], num_nodes=(2, 3))
    assert sorted_g.edge_perm is None and (sorted_g.num_src, sorted_g.num_dst) == (2, 3)
    g32 = Graph.from_edges(src.int(), dst.int(), 5)
    assert g32.index_dtype == torch.int32 and g32.num_dst == 5
    # from_sparse: CSR and COO give the CSR order
    crow, col = g.indptr, g.indices
    adj = sparse_csr(crow, col, torch.ones(6), (4, 4))
    gs = Graph.from_sparse(adj)
    assert torch.equal(gs.indptr, crow) and torch.equal(gs.indices, col) and gs.edge_perm is None
    coo = torch.sparse_coo_tensor(torch.stack([dst, src]), torch.ones(6), (4, 4))
    gc = Graph.from_sparse(coo)  # coalesced: rows, then columns, sorted
    assert torch.equal(gc.indptr, crow) and gc.num_src == 4
    assert torch.equal(gc.indices, torch.tensor([0, 2, 0, 1, 3, 2]))
    rect = Graph.from_sparse(sparse_csr(torch.tensor([0, 1, 1]), torch.tensor([4]),
                                        torch.ones(1), (2, 5)))
    assert (rect.num_src, rect.num_dst) == (5, 2)
    empty = Graph.from_edges(torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64))
    assert (empty.num_src, empty.num_edges) == (0, 0)


def test_graph_edge_values_follow_the_edge_list():
    src, dst = random_edges(9, 9, 30, seed=11)
    g = Graph.from_edges(src, dst)
    x = torch.randn(9, 3, dtype=torch.float64)
    w = torch.randn(src.numel(), dtype=torch.float64)
    torch.testing.assert_close(F.gspmm(g, x, "u_mul_e", "sum", w),
                               reference(src, dst, 9, x, "sum", w))


def test_add_self_loops():
    src, dst = random_edges(8, 8, 20, seed=12)
    g = Graph.from_edges(src, dst)
    gl = g.add_self_loops()
    loops = torch.arange(8)
    ref = Graph.from_edges(torch.cat([src, loops]), torch.cat([dst, loops]))
    assert gl.num_edges == g.num_edges + 8
    assert torch.equal(gl.in_degrees(), g.in_degrees() + 1)
    x = torch.randn(8, 4, dtype=torch.float64)
    w = torch.randn(gl.num_edges, dtype=torch.float64)
    for reduce in REDUCES:
        torch.testing.assert_close(F.gspmm(gl, x, "u_mul_e", reduce, w),
                                   F.gspmm(ref, x, "u_mul_e", reduce, w))
    for v in range(8):  # the loop is the last edge of each row
        assert int(gl.indices[int(gl.indptr[v + 1]) - 1]) == v
    gl2 = Graph.from_sparse(sparse_csr(g.indptr, g.indices, torch.ones(g.num_edges), (8, 8))).add_self_loops()
    assert torch.equal(gl2.edge_perm[gl2.indptr[1:] - 1], torch.arange(8) + g.num_edges)
    with pytest.raises(ValueError, match="num_src == num_dst"):
        Graph.from_edges([0], [1], (2, 3)).add_self_loops()


def test_transpose_built_once(monkeypatch):
    calls = []
    real = ops.csr_transpose_fast

    def counting(*a):
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(ops, "csr_transpose_fast", counting)
    src, dst = random_edges(10, 10, 30, seed=13)
    g = Graph.from_edges(src, dst)
    x = torch.randn(10, 3, requires_grad=True)
    F.gspmm(g, x.detach())  # no gradient: no transpose
    assert not calls
    for reduce in REDUCES:
        F.gspmm(g, x, reduce=reduce).sum().backward()
    assert len(calls) == 1
    t_indptr, t_indices, t_edge_ids = g.transpose()
    assert g.transpose()[0] is t_indptr
    assert torch.equal(t_edge_ids, torch.sort(g.indices, stable=True).indices)
    assert torch.equal(g.out_degrees(), torch.bincount(src, minlength=10))  # from the transpose
    assert g.to("cpu") is g


# ------------------------------------------------------------------- errors


def test_graph_errors():
    with pytest.raises(ValueError, match="out of range"):
        Graph(torch.tensor([0, 1, 2]), torch.tensor([0, 2]))  # num_src defaults to 2
    with pytest.raises(ValueError, match="out of range"):
        Graph(torch.tensor([0, 1, 2]), torch.tensor([0, -1]), num_src=5)
    with pytest.raises(ValueError, match="non-decreasing"):
        Graph(torch.tensor([0, 2, 1, 3]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="start at 0"):
        Graph(torch.tensor([1, 2, 3]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="end at"):
        Graph(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]))
    with pytest.raises(TypeError, match="dtype"):
        Graph(torch.tensor([0, 1], dtype=torch.int32), torch.tensor([0]))
    with pytest.raises(TypeError, match="dtype"):
        Graph(torch.tensor([0.0, 1.0]), torch.tensor([0]))
    with pytest.raises(pk.ShapeError):
        Graph(torch.tensor([[0, 1]]), torch.tensor([0]))
    with pytest.raises(pk.ShapeError):
        Graph(torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ValueError, match="num_src"):
        Graph(torch.tensor([0, 1]), torch.tensor([0]), num_src=-1)
    with pytest.raises(pk.ShapeError):
        Graph.from_edges([0, 1], [0])
    with pytest.raises(ValueError, match="out of range"):
        Graph.from_edges([0, 3], [0, 1], num_nodes=3)
    with pytest.raises(ValueError, match="out of range"):
        Graph.from_edges([0, 1], [0, 2], num_nodes=(5, 2))
    with pytest.raises(ValueError, match="num_nodes"):
        Graph.from_edges([0], [0], num_nodes="3")
    with pytest.raises(TypeError, match="layout"):
        Graph.from_sparse(torch.eye(3))
    ip, ix = torch.tensor([0, 1, 3]), torch.tensor([1, 0, 1])
    with pytest.raises(ValueError, match="permutation"):
        Graph(ip, ix, edge_perm=torch.tensor([0, 0, 2]))
    with pytest.raises(ValueError, match="permutation"):
        Graph(ip, ix, edge_perm=torch.tensor([0, 1, 3]))
    with pytest.raises(pk.ShapeError):
        Graph(ip, ix, edge_perm=torch.tensor([0, 1]))
    w = torch.tensor([1.0, 10.0, 100.0])
    permuted = Graph(ip, ix, edge_perm=torch.tensor([2, 0, 1]))  # CSR edge k = edge perm[k]
    torch.testing.assert_close(F.gspmm(permuted, torch.ones(2, 1), "u_mul_e", "sum", w),
                               torch.tensor([[100.0], [11.0]]))


def test_gspmm_errors():
    g = Graph.from_edges([0, 1, 2], [1, 2, 0])
    x = torch.randn(3, 2)
    with pytest.raises(ValueError, match="reduce"):
        F.gspmm(g, x, reduce="amax")
    with pytest.raises(ValueError, match="message"):
        F.gspmm(g, x, message="u_add_e")
    with pytest.raises(ValueError, match="edge_values"):
        F.gspmm(g, x, message="u_mul_e")
    with pytest.raises(ValueError, match="edge_values"):
        F.gspmm(g, x, edge_values=torch.ones(3))
    with pytest.raises(pk.ShapeError):
        F.gspmm(g, torch.randn(4, 2))
    with pytest.raises(pk.ShapeError):
        F.gspmm(g, torch.randn(3))
    with pytest.raises(pk.ShapeError):
        F.gspmm(g, x, "u_mul_e", "sum", torch.ones(4))
    with pytest.raises(pk.KernelError, match="dtype"):
        F.gspmm(g, x, "u_mul_e", "sum", torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError):
        F.gspmm(g, x.long())
    with pytest.raises(TypeError, match="Graph"):
        F.gspmm((g.indptr, g.indices), x)


def test_spmm_errors():
    crow, col = torch.tensor([0, 1, 3]), torch.tensor([1, 0, 1])
    adj = sparse_csr(crow, col, torch.ones(3), (2, 2))
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="reduce"):
        F.spmm(adj, x, "max")
    with pytest.raises(pk.ShapeError):
        F.spmm(adj, torch.randn(3, 3))
    with pytest.raises(TypeError, match="layout"):
        F.spmm(adj.to_dense(), x)
    with pytest.raises(pk.KernelError, match="dtype"):
        F.spmm(adj, x.double())
    bad = sparse_csr(crow, torch.tensor([1, 0, 2]), torch.ones(3), (2, 2))  # unchecked: col 2
    with pytest.raises(pk.KernelError, match="indices"):
        F.spmm(bad, x)
    with pytest.raises(pk.KernelError, match="indices"):
        F.spmm(bad, x.requires_grad_())


def test_numpy_and_op_errors():
    indptr, indices = np.array([0, 1, 3]), np.array([1, 0, 1])
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="reduce"):
        pk.gspmm(indptr, indices, x, reduce="prod")
    with pytest.raises(pk.KernelError, match="indices"):
        pk.gspmm(indptr, np.array([1, 0, 5]), x)
    with pytest.raises(pk.KernelError, match="indptr"):
        pk.gspmm(np.array([0, 2, 1]), indices, x)
    with pytest.raises(pk.KernelError, match="indptr"):
        pk.gspmm(np.array([0, 1, 2]), indices, x)
    with pytest.raises(pk.KernelError):
        pk.gspmm(indptr.astype(np.int32), indices, x)
    with pytest.raises(pk.ShapeError):
        pk.gspmm(indptr, indices, x, "u_mul_e", "sum", np.ones(2))
    with pytest.raises(pk.ShapeError):
        pk.gspmm(np.zeros(0, np.int64), indices, x)
    with pytest.raises(pk.ShapeError):
        pk.gspmm(indptr, indices, np.ones(3))
    with pytest.raises(TypeError):
        pk.gspmm(list(indptr), indices, x)
    with pytest.raises(pk.KernelError, match="indices"):
        pk.csr_transpose(indptr, indices, 1)
    with pytest.raises(ValueError, match="num_src"):
        pk.csr_transpose(indptr, indices, -1)
    with pytest.raises(ValueError, match="arg"):
        pk.gspmm_backward(np.ones((2, 3)), indptr, indices, x, reduce="max")
    with pytest.raises(ValueError, match="need_edge_values"):
        pk.gspmm_backward(np.ones((2, 3)), indptr, indices, x, need_edge_values=True)
    t = torch.tensor
    with pytest.raises(ValueError, match="reduce"):
        ops.gspmm(t([0, 1]), t([0]), torch.ones(1, 1), None, None, None, None, "copy_u", "avg",
                  False)
    with pytest.raises(ValueError, match="t_indptr"):
        ops.gspmm_backward(torch.ones(1, 1), t([0, 1]), t([0]), None, None, None, None, None,
                           None, "copy_u", "sum", True, False, False)


# ------------------------------------------------------------------- CUDA

cuda = pytest.mark.skipif(not (torch.cuda.is_available() and pk.has_cuda()),
                          reason="needs a CUDA device and a CUDA build of libkernels")


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("reduce", REDUCES)
def test_gspmm_cuda_matches_cpu(reduce):
    src, dst = random_edges(40, 30, 200, seed=14)
    g = Graph.from_edges(src, dst, (40, 30))
    gc = g.to("cuda")
    assert gc.device.type == "cuda"
    x = torch.randn(40, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(src.numel(), dtype=torch.float64, requires_grad=True)
    xc = x.detach().cuda().requires_grad_()
    wc = w.detach().cuda().requires_grad_()
    y = F.gspmm(g, x, "u_mul_e", reduce, w)
    yc = F.gspmm(gc, xc, "u_mul_e", reduce, wc)
    torch.testing.assert_close(yc.cpu(), y)
    gy = torch.randn_like(y)
    for a, b in zip(torch.autograd.grad(yc, (xc, wc), gy.cuda()), torch.autograd.grad(y, (x, w), gy)):
        torch.testing.assert_close(a.cpu(), b)
    crow, col, order = csr(src, dst, 30)
    adj = sparse_csr(crow, col, w.detach()[order], (30, 40))
    spmm_reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    torch.testing.assert_close(F.spmm(adj.cuda(), xc, spmm_reduce).cpu(),
                               F.spmm(adj, x, spmm_reduce))
