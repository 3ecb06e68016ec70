"""pykernels.torch.nn.MultiheadAttention and functional.multi_head_attention_forward
against torch.nn.MultiheadAttention: constructor options (bias, add_bias_kv,
add_zero_attn, kdim/vdim, batch_first), forward options (bool/float key_padding_mask
and attn_mask, 2-d and 3-d masks, is_causal, need_weights, average_attn_weights),
unbatched input, float64 and float32, gradients of inputs and parameters, state_dict
both ways, dropout, torch.compile, and no torch attention/linear op on the way."""
import copy
import itertools

import pytest
import torch

from _helpers import ops_run, tol, torch_compute_ops

import pykernels.torch as pkt
import pykernels.torch.nn as knn
from pykernels.torch import functional as F

E, H = 8, 2
L, S, N = 4, 5, 3


def _pair(dtype=torch.float64, **kwargs):
    """(torch's module, a converted deep copy: the same parameters)."""
    ref = torch.nn.MultiheadAttention(E, H, **kwargs).to(dtype)
    with torch.no_grad():  # nonzero biases (torch initialises them to 0)
        for name, p in ref.named_parameters():
            if "bias" in name:
                p.normal_()
    ours = copy.deepcopy(ref)
    report = pkt.convert(ours)
    assert not report.kept, str(report)
    assert type(ours) is knn.MultiheadAttention
    assert type(ours.out_proj) is knn.NonDynamicallyQuantizableLinear
    return ref, ours


def _inputs(dtype, kind="cross", batch_first=False, batched=True, kdim=E, vdim=E):
    """(query, key, value) leaves; kind: 'self' (query is key is value), 'kv' (key is
    value), 'cross' (three tensors)."""
    def make(seq, dim):
        shape = ((N, seq, dim) if batch_first else (seq, N, dim)) if batched else (seq, dim)
        return torch.randn(shape, dtype=dtype, requires_grad=True)
    q = make(L, E)
    if kind == "self":
        return q, q, q
    k = make(S, kdim)
    if kind == "kv":
        return q, k, k
    return q, k, make(S, vdim)


def _masks(dtype, which, batched=True, src=S):
    """key_padding_mask / attn_mask of the kinds named by ``which``."""
    g = torch.Generator().manual_seed(1)
    kpm, am = None, None
    if "kpm_bool" in which or "kpm_float" in which:
        kpm = torch.rand((N, src) if batched else (src,), generator=g) < 0.3
        kpm[..., 0] = False  # no fully masked row (NaN in torch and here alike)
        if "kpm_float" in which:
            kpm = torch.zeros(kpm.shape, dtype=dtype).masked_fill(kpm, -1e9) \
                + torch.randn(kpm.shape, generator=g, dtype=dtype)
    if "am2_bool" in which or "am2_float" in which:
        am = torch.rand((L, src), generator=g) < 0.3
        am[:, 0] = False
        if "am2_float" in which:
            am = torch.randn((L, src), generator=g, dtype=dtype)
    if "am3_bool" in which or "am3_float" in which:
        am = torch.rand(((N if batched else 1) * H, L, src), generator=g) < 0.3
        am[..., 0] = False
        if "am3_float" in which:
            am = torch.randn(am.shape, generator=g, dtype=dtype)
    return kpm, am


def _run(module, inputs, kwargs, seed=0):
    """Forward, then backward of a random weighting of the outputs: (outputs, grads of the
    inputs and parameters)."""
    out = module(*inputs, **kwargs)
    outs = [o for o in out if o is not None]
    gen = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum() for o in outs)
    leaves = list(dict.fromkeys(t for t in inputs if t.requires_grad))
    grads = torch.autograd.grad(loss, leaves + list(module.parameters()), allow_unused=True)
    return [o.detach() for o in outs], grads


def _check(ref, ours, inputs, kwargs, dtype):
    expected = _run(ref, inputs, kwargs)
    got = _run(ours, inputs, kwargs)
    assert len(got[0]) == len(expected[0])
    for a, b in zip(got[0], expected[0]):
        torch.testing.assert_close(a, b, **tol(dtype))
    for i, (a, b) in enumerate(zip(got[1], expected[1])):
        if a is None or b is None:
            assert a is None and b is None, f"grad {i}"
            continue
        torch.testing.assert_close(a, b, **tol(dtype), msg=lambda m: f"grad {i}: {m}")


CONSTRUCTORS = [dict(), dict(bias=False), dict(add_bias_kv=True), dict(add_zero_attn=True),
                dict(add_bias_kv=True, add_zero_attn=True, bias=False), dict(kdim=5, vdim=7),
                dict(batch_first=True), dict(batch_first=True, kdim=6, vdim=6)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kwargs", CONSTRUCTORS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
@pytest.mark.parametrize("need_weights", [True, False])
def test_constructor_options_match_torch(dtype, kwargs, need_weights):
    torch.manual_seed(0)
    ref, ours = _pair(dtype, **kwargs)
    separate = "kdim" in kwargs
    kinds = ["cross"] if separate else ["self", "kv", "cross"]
    for kind in kinds:
        inputs = _inputs(dtype, kind, kwargs.get("batch_first", False),
                         kdim=kwargs.get("kdim", E), vdim=kwargs.get("vdim", E))
        kpm, am = _masks(dtype, ("kpm_bool", "am2_bool"), src=L if kind == "self" else S)
        for masks in ({}, dict(key_padding_mask=kpm), dict(attn_mask=am),
                      dict(key_padding_mask=kpm, attn_mask=am)):
            _check(ref, ours, inputs, dict(need_weights=need_weights, **masks), dtype)


MASKS = [(), ("kpm_bool",), ("kpm_float",), ("am2_bool",), ("am2_float",), ("am3_bool",),
         ("am3_float",), ("kpm_bool", "am2_bool"), ("kpm_float", "am3_float"),
         ("kpm_bool", "am3_bool")]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("masks", MASKS, ids=lambda m: "+".join(m) or "none")
@pytest.mark.parametrize("need_weights,average", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("batched", [True, False])
def test_masks_and_weights_match_torch(dtype, masks, need_weights, average, batched):
    torch.manual_seed(0)
    ref, ours = _pair(dtype, add_zero_attn=False)
    inputs = _inputs(dtype, "cross", batched=batched)
    kpm, am = _masks(dtype, masks, batched=batched)
    if am is not None and am.dim() == 3 and not batched:
        am = am[:H]
    kwargs = dict(key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
                  average_attn_weights=average)
    _check(ref, ours, inputs, kwargs, dtype)
    out, w = ours(*inputs, **kwargs)
    if need_weights:
        expected = (((N,) if batched else ()) + (() if average else (H,)) + (L, S))
        assert w.shape == expected
    else:
        assert w is None
    assert out.shape == inputs[0].shape


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("with_kpm", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_is_causal_matches_torch(dtype, with_kpm, need_weights):
    torch.manual_seed(0)
    ref, ours = _pair(dtype, batch_first=True)
    inputs = _inputs(dtype, "self", batch_first=True)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=dtype)
    kpm, _ = _masks(dtype, ("kpm_bool",), src=L)
    kwargs = dict(attn_mask=causal, is_causal=True, need_weights=need_weights,
                  key_padding_mask=kpm if with_kpm else None)
    _check(ref, ours, inputs, kwargs, dtype)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        ours(*inputs, is_causal=True)


@pytest.mark.parametrize("need_weights", [True, False])
def test_eval_and_no_grad_match_torch_fast_path(need_weights):
    """In eval mode under no_grad torch's module takes its fused fast path; ours has none
    and must agree with it."""
    ref, ours = _pair(torch.float32, batch_first=True)
    ref.eval()
    ours.eval()
    q, k, v = _inputs(torch.float32, "self", batch_first=True)
    kpm, _ = _masks(torch.float32, ("kpm_bool",), src=L)
    with torch.no_grad():
        a = ref(q, q, q, key_padding_mask=kpm, need_weights=need_weights)
        b = ours(q, q, q, key_padding_mask=kpm, need_weights=need_weights)
    for x, y in zip(b, a):
        if y is None:
            assert x is None
        else:
            torch.testing.assert_close(x, y, **tol(torch.float32))


def test_state_dict_both_ways_and_same_init():
    for kwargs in (dict(), dict(kdim=5, vdim=7, add_bias_kv=True)):
        torch.manual_seed(4)
        ref = torch.nn.MultiheadAttention(E, H, **kwargs)
        torch.manual_seed(4)
        ours = knn.MultiheadAttention(E, H, **kwargs)
        assert type(ours.out_proj) is knn.NonDynamicallyQuantizableLinear
        assert ours.state_dict().keys() == ref.state_dict().keys()
        for (na, a), (nb, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
            assert na == nb and torch.equal(a, b), na
        other = torch.nn.MultiheadAttention(E, H, **kwargs)
        fresh = knn.MultiheadAttention(E, H, **kwargs)
        fresh.load_state_dict(other.state_dict())
        q, k, v = (t.detach() for t in _inputs(torch.float32, "cross", kdim=kwargs.get("kdim", E),
                                                   vdim=kwargs.get("vdim", E)))
        for x, y in zip(fresh(q, k, v), other(q, k, v)):
            torch.testing.assert_close(x, y, **tol(torch.float32))
        other.load_state_dict(ours.state_dict())


def test_functional_has_torch_signature():
    import inspect
    ours = inspect.signature(F.multi_head_attention_forward).parameters
    theirs = inspect.signature(torch.nn.functional.multi_head_attention_forward).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def test_functional_matches_torch_functional():
    torch.manual_seed(0)
    ref, _ = _pair(torch.float64, add_bias_kv=True)
    q, k, v = _inputs(torch.float64, "cross")
    kpm, am = _masks(torch.float64, ("kpm_bool", "am2_float"))
    args = (q, k, v, E, H, ref.in_proj_weight, ref.in_proj_bias, ref.bias_k, ref.bias_v, False,
            0.0, ref.out_proj.weight, ref.out_proj.bias)
    for need_weights in (True, False):
        kw = dict(training=True, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)
        a = torch.nn.functional.multi_head_attention_forward(*args, **kw)
        b = F.multi_head_attention_forward(*args, **kw)
        torch.testing.assert_close(b[0], a[0], **tol(torch.float64))
        if need_weights:
            torch.testing.assert_close(b[1], a[1], **tol(torch.float64))


def test_functional_separate_weights_and_static_kv_match_torch():
    torch.manual_seed(0)
    ref, _ = _pair(torch.float64, kdim=5, vdim=7)
    q, k, v = _inputs(torch.float64, "cross", kdim=5, vdim=7)
    static_k = torch.randn(N * H, 6, E // H, dtype=torch.float64, requires_grad=True)
    static_v = torch.randn(N * H, 6, E // H, dtype=torch.float64, requires_grad=True)
    for statics in (dict(), dict(static_k=static_k, static_v=static_v)):
        for need_weights in (True, False):
            args = (q, k, v, E, H, None, ref.in_proj_bias, None, None, False, 0.0,
                    ref.out_proj.weight, ref.out_proj.bias)
            kw = dict(need_weights=need_weights, use_separate_proj_weight=True,
                      q_proj_weight=ref.q_proj_weight, k_proj_weight=ref.k_proj_weight,
                      v_proj_weight=ref.v_proj_weight, **statics)
            a = torch.nn.functional.multi_head_attention_forward(*args, **kw)
            b = F.multi_head_attention_forward(*args, **kw)
            for x, y in zip(b, a):
                if y is None:
                    assert x is None
                    continue
                torch.testing.assert_close(x, y, **tol(torch.float64))
            leaves = [q, k, v, static_k, static_v]
            ga = torch.autograd.grad(a[0].sum(), leaves, allow_unused=True)
            gb = torch.autograd.grad(b[0].sum(), leaves, allow_unused=True)
            for x, y in zip(gb, ga):
                assert (x is None) == (y is None)
                if y is not None:
                    torch.testing.assert_close(x, y, **tol(torch.float64))


def test_gradcheck_float64():
    torch.manual_seed(0)
    m = knn.MultiheadAttention(4, 2, add_bias_kv=True, dtype=torch.float64)
    q = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 2, 4, dtype=torch.float64, requires_grad=True)
    kpm = torch.tensor([[False, True], [False, False]])
    for need_weights in (True, False):
        torch.autograd.gradcheck(
            lambda q, k: m(q, k, k, key_padding_mask=kpm, need_weights=need_weights)[0],
            (q, k))


def test_dropout_on_the_weights_in_training():
    """need_weights=True: the returned weights are the dropped-out ones (each 0 or the
    eval weight / (1 - p)), and the output is computed from exactly those weights."""
    torch.manual_seed(0)
    p = 0.5
    m = knn.MultiheadAttention(E, H, dropout=p, dtype=torch.float64)
    q, k, v = (t.detach() for t in _inputs(torch.float64, "cross"))
    m.eval()
    _, w_eval = m(q, k, v, average_attn_weights=False)
    m.train()
    out, w = m(q, k, v, average_attn_weights=False)
    dropped = w == 0
    assert 0.3 < dropped.double().mean().item() < 0.7
    torch.testing.assert_close(w[~dropped], w_eval[~dropped] / (1 - p))
    # the output from the returned weights, with torch ops
    E_ = E
    wq, wk, wv = m.in_proj_weight.chunk(3)
    bq, bk, bv = m.in_proj_bias.chunk(3)
    vp = (v @ wv.T + bv).view(S, N * H, E_ // H).transpose(0, 1)        # (N*H, S, hd)
    heads = (w.reshape(N * H, L, S) @ vp).transpose(0, 1).reshape(L, N, E_)
    expected = heads @ m.out_proj.weight.T + m.out_proj.bias
    torch.testing.assert_close(out.detach(), expected.detach())
    # need_weights=False: dropout inside the fused kernel, repeatable from torch's seed
    torch.manual_seed(5)
    a, _ = m(q, k, v, need_weights=False)
    torch.manual_seed(5)
    b, _ = m(q, k, v, need_weights=False)
    m.eval()
    c, _ = m(q, k, v, need_weights=False)
    assert torch.equal(a, b) and not torch.allclose(a, c)


@pytest.mark.parametrize("need_weights", [False, True])
def test_runs_on_pykernels_only(need_weights):
    torch.manual_seed(0)
    _, ours = _pair(torch.float32, add_bias_kv=True)
    q, k, v = _inputs(torch.float32, "cross")
    kpm, am = _masks(torch.float32, ("kpm_bool", "am2_bool"))

    def step():
        out, w = ours(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)
        loss = out.sum() + (w.sum() if w is not None else 0)
        loss.backward()

    names, _ = ops_run(step)
    assert torch_compute_ops(names) == set(), sorted(names)
    assert "pykernels.linear" in names and "pykernels.linear_backward" in names
    if need_weights:
        assert "pykernels.softmax" in names
    else:
        assert any("scaled_dot_product_attention" in n for n in names if n.startswith("pykernels.")), sorted(names)


def test_compile_fullgraph_need_weights_false():
    torch.manual_seed(0)
    ref, ours = _pair(torch.float32, batch_first=True)
    q, k, v = (t.detach() for t in _inputs(torch.float32, "cross", batch_first=True))
    kpm, am = _masks(torch.float32, ("kpm_float", "am2_float"))  # same types: no warning
    compiled = torch.compile(ours, fullgraph=True)
    for kwargs in (dict(), dict(key_padding_mask=kpm, attn_mask=am)):
        got, w = compiled(q, k, v, need_weights=False, **kwargs)
        assert w is None
        expected, _ = ref(q, k, v, need_weights=False, **kwargs)
        torch.testing.assert_close(got, expected, **tol(torch.float32))


def test_errors_as_torch():
    _, ours = _pair(torch.float32)
    q = torch.randn(L, N, E)
    with pytest.raises(AssertionError):
        ours(q, q, torch.randn(S, N, E))  # key and value shapes differ
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        ours(q, q, q, attn_mask=torch.zeros(L, L + 1, dtype=torch.bool))
    with pytest.raises(AssertionError):
        ours(torch.randn(2, L, N, E), q, q)  # 4-d query
    with pytest.raises(AssertionError, match="only bool and floating"):
        ours(q, q, q, key_padding_mask=torch.zeros(N, L, dtype=torch.int64))
