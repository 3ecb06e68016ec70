"""nn.GraphConv (DGL's GraphConv on pykernels) vs a dense torch reference: every norm,
bias, activation, edge weights, both weight placements, gradients, state_dict, compile,
nothing saved under no_grad."""
import pytest
import torch

from _helpers import count_saved

import pykernels.torch.nn as knn
from pykernels.torch import Graph

NORMS = ["both", "right", "left", "none"]


def random_graph(num_nodes=14, e=50, seed=0):
    """Edges in random order, a few duplicates, nodes 0 and 1 without in-edges, node 2
    without out-edges."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, num_nodes, (e,), generator=g)
    dst = torch.randint(2, num_nodes, (e,), generator=g)
    src, dst = torch.cat([src, src[:3]]), torch.cat([dst, dst[:3]])
    return src, dst


def dense_reference(src, dst, n, feat, weight, bias, norm, edge_weight=None, activation=None):
    """D_in^-1/2 A D_out^-1/2 X W + b with dense A[dst, src] (duplicates summed)."""
    w = torch.ones(src.numel(), dtype=feat.dtype) if edge_weight is None else edge_weight
    a = torch.zeros(n, n, dtype=feat.dtype).index_put((dst, src), w, accumulate=True)
    out_deg = torch.bincount(src, minlength=n).clamp(min=1).to(feat.dtype)
    in_deg = torch.bincount(dst, minlength=n).clamp(min=1).to(feat.dtype)
    x = feat
    if norm == "both":
        x = x * out_deg.rsqrt()[:, None]
    elif norm == "left":
        x = x / out_deg[:, None]
    rst = a @ x
    if weight is not None:
        rst = rst @ weight
    if norm == "both":
        rst = rst * in_deg.rsqrt()[:, None]
    elif norm == "right":
        rst = rst / in_deg[:, None]
    if bias is not None:
        rst = rst + bias
    return activation(rst) if activation is not None else rst


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("feats", [(5, 8), (9, 3)])  # weight after / before the aggregation
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_graphconv_vs_dense(norm, feats, bias, weighted):
    n = 14
    src, dst = random_graph(n)
    g = Graph.from_edges(src, dst, n)
    conv = knn.GraphConv(*feats, norm=norm, bias=bias, activation=torch.tanh).double()
    if bias:
        torch.nn.init.normal_(conv.bias)
    feat = torch.randn(n, feats[0], dtype=torch.float64, requires_grad=True)
    ew = torch.rand(src.numel(), dtype=torch.float64, requires_grad=True) if weighted else None
    out = conv(g, feat, edge_weight=ew)
    ref = dense_reference(src, dst, n, feat, conv.weight, conv.bias, norm, ew, torch.tanh)
    torch.testing.assert_close(out, ref)
    gy = torch.randn_like(ref)
    leaves = [feat, conv.weight] + ([conv.bias] if bias else []) + ([ew] if weighted else [])
    for a, b in zip(torch.autograd.grad(out, leaves, gy), torch.autograd.grad(ref, leaves, gy)):
        torch.testing.assert_close(a, b)


def test_float32_default_and_zero_in_degree():
    n = 10
    src, dst = random_graph(n, 30, seed=1)
    g = Graph.from_edges(src, dst, n)
    conv = knn.GraphConv(6, 4)
    assert conv.weight.dtype == torch.float32 and conv.weight.shape == (6, 4)
    assert conv.bias.shape == (4,) and not conv.bias.any()
    torch.nn.init.normal_(conv.bias)
    feat = torch.randn(n, 6)
    out = conv(g, feat)
    torch.testing.assert_close(out, dense_reference(src, dst, n, feat, conv.weight, conv.bias,
                                                    "both"), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out[:2], conv.bias.expand(2, 4).detach())  # no in-edges: bias


def test_external_weight_pair_input_and_errors():
    n = 8
    src, dst = random_graph(n, 20, seed=2)
    g = Graph.from_edges(src, dst, n)
    conv = knn.GraphConv(5, 3, weight=False, bias=False, norm="right")
    assert conv.weight is None and list(conv.state_dict()) == []
    w = torch.randn(5, 3, dtype=torch.float64)
    feat = torch.randn(n, 5, dtype=torch.float64)
    out = conv(g, (feat, feat[:0]), w)
    torch.testing.assert_close(out, dense_reference(src, dst, n, feat, w, None, "right"))
    torch.testing.assert_close(conv(g, feat), dense_reference(src, dst, n, feat, None, None, "right"))
    with pytest.raises(ValueError, match="External weight"):
        knn.GraphConv(5, 3)(g, feat.float(), w.float())
    with pytest.raises(ValueError, match="norm"):
        knn.GraphConv(5, 3, norm="sym")
    with pytest.raises(ValueError, match="num_src"):
        knn.GraphConv(5, 3)(g, torch.randn(n + 1, 5))


def test_gradcheck_and_glorot_init():
    n = 7
    src, dst = random_graph(n, 16, seed=3)
    g = Graph.from_edges(src, dst, n)
    conv = knn.GraphConv(4, 3, norm="both").double()
    feat = torch.randn(n, 4, dtype=torch.float64, requires_grad=True)
    ew = torch.rand(src.numel(), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, e, w: conv(g, f, edge_weight=e) + 0 * w.sum(),
                                    (feat, ew, conv.weight))
    big = knn.GraphConv(300, 200)
    bound = (6.0 / (300 + 200)) ** 0.5
    assert big.weight.abs().max() <= bound and big.weight.std() > 0.8 * bound / 3 ** 0.5


def test_state_dict_round_trip_and_repr():
    torch.manual_seed(0)
    a = knn.GraphConv(6, 4, norm="left", activation=torch.relu)
    b = knn.GraphConv(6, 4, norm="left", activation=torch.relu)
    sd = a.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {"weight": (6, 4), "bias": (4,)}
    b.load_state_dict(sd)
    g = Graph.from_edges(*random_graph(9, 25, seed=4), 9)
    x = torch.randn(9, 6)
    torch.testing.assert_close(a(g, x), b(g, x))
    assert repr(a).startswith("GraphConv(in=6, out=4, normalization=left, activation=")


def test_nothing_saved_under_no_grad():
    n = 9
    g = Graph.from_edges(*random_graph(n, 25, seed=5), n)
    conv = knn.GraphConv(5, 3)
    x = torch.randn(n, 5)
    n_saved, out = count_saved(lambda: conv(g, x))
    assert n_saved > 0 and out.grad_fn is not None
    for ctx in (torch.no_grad, torch.inference_mode):
        with ctx():
            n_saved, out = count_saved(lambda: conv(g, x))
        assert n_saved == 0 and out.grad_fn is None


def test_compile_fullgraph_matches_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    n = 12
    src, dst = random_graph(n, 40, seed=6)
    model = torch.nn.ModuleList([knn.GraphConv(7, 16, activation=torch.relu),
                                 knn.GraphConv(16, 3, norm="right")])
    feat = torch.randn(n, 7, requires_grad=True)
    ew = torch.rand(src.numel(), requires_grad=True)

    def forward(g, x, e):
        return model[1](g, model[0](g, x, edge_weight=e))

    def step(fn, g):
        out = fn(g, feat, ew)
        grads = torch.autograd.grad((out * out).sum(), [feat, ew, *model.parameters()])
        return (out.detach(), *grads)

    eager = step(forward, Graph.from_edges(src, dst, n))
    compiled = step(torch.compile(forward, fullgraph=True), Graph.from_edges(src, dst, n))
    for a, b in zip(compiled, eager):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
