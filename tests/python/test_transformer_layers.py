"""torch.nn.TransformerEncoderLayer / TransformerDecoderLayer / TransformerEncoder /
Transformer converted with pykernels.torch.convert: outputs and gradients equal torch's
in training (dropout=0) and in eval (where torch takes its fast paths: the fused encoder
layer, nested tensors), with key padding and causal masks, norm_first both ways, relu and
gelu; and nothing of a layer's arithmetic runs on torch (no aten linear / matmul /
attention / layer_norm / softmax / activation op, seen by a TorchDispatchMode)."""
import copy
import itertools

import pytest
import torch

from _helpers import ops_run, tol, torch_compute_ops

import pykernels.torch as pkt
import pykernels.torch.nn as knn

D, H, FF = 8, 2, 16


def _converted(ref):
    ours = copy.deepcopy(ref)
    report = pkt.convert(ours)
    assert not report.kept, str(report)
    return ours


def _perturb(module):
    """Nonzero biases and non-unit norms (torch initialises them to 0 and 1)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "bias" in name or "norm" in name:
                p.add_(torch.randn_like(p) * 0.3)
    return module


def _close_run(ref, ours, make_args, dtype, grad=True):
    """Run both on the same (fresh leaf) inputs; compare outputs and, with ``grad``, the
    gradients of the inputs and parameters."""
    results = []
    for m in (ref, ours):
        args, kwargs = make_args()
        out = m(*args, **kwargs)
        grads = []
        if grad and torch.is_grad_enabled():
            gen = torch.Generator().manual_seed(3)
            loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()
            leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
            grads = torch.autograd.grad(loss, leaves + list(m.parameters()))
        results.append((out.detach(), grads))
    (a, ga), (b, gb) = results
    torch.testing.assert_close(b, a, **tol(dtype), equal_nan=True)
    assert len(ga) == len(gb)
    for i, (x, y) in enumerate(zip(gb, ga)):
        torch.testing.assert_close(x, y, **tol(dtype), msg=lambda m: f"grad {i}: {m}")


def _inputs(dtype, batch_first, seq=5, batch=3, requires_grad=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (batch, seq, D) if batch_first else (seq, batch, D)
    return torch.randn(shape, generator=g, dtype=dtype).requires_grad_(requires_grad)


def _padding(batch=3, seq=5, float_mask=False, dtype=torch.float64):
    """Left-aligned key padding (True = padding), at least one key kept per row."""
    kpm = torch.zeros(batch, seq, dtype=torch.bool)
    kpm[0, -2:] = True
    kpm[1, -1:] = True
    if float_mask:
        return torch.zeros(batch, seq, dtype=dtype).masked_fill(kpm, float("-inf"))
    return kpm


OPTIONS = list(itertools.product((False, True), ("relu", "gelu"), (False, True)))
IDS = [f"norm_first={n}-{a}-batch_first={b}" for n, a, b in OPTIONS]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("norm_first,activation,batch_first", OPTIONS, ids=IDS)
@pytest.mark.parametrize("mode", ["train", "eval", "eval_no_grad"])
def test_encoder_layer_matches_torch(dtype, norm_first, activation, batch_first, mode):
    torch.manual_seed(0)
    ref = _perturb(torch.nn.TransformerEncoderLayer(
        D, H, FF, dropout=0.0, activation=activation, batch_first=batch_first,
        norm_first=norm_first, dtype=dtype))
    ours = _converted(ref)
    assert type(ours) is knn.TransformerEncoderLayer
    for m in (ref, ours):
        m.train(mode == "train")
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=dtype)
    for masks in (dict(), dict(src_key_padding_mask=_padding()),
                  dict(src_key_padding_mask=_padding(float_mask=True, dtype=dtype)),
                  dict(src_mask=causal, is_causal=True),
                  dict(src_mask=causal, src_key_padding_mask=_padding(float_mask=True,
                                                                    dtype=dtype))):
        make = lambda: ((_inputs(dtype, batch_first, requires_grad=mode != "eval_no_grad"),),
                        masks)
        with torch.no_grad() if mode == "eval_no_grad" else torch.enable_grad():
            _close_run(ref, ours, make, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("norm_first,activation,batch_first", OPTIONS, ids=IDS)
@pytest.mark.parametrize("mode", ["train", "eval_no_grad"])
def test_decoder_layer_matches_torch(dtype, norm_first, activation, batch_first, mode):
    torch.manual_seed(0)
    ref = _perturb(torch.nn.TransformerDecoderLayer(
        D, H, FF, dropout=0.0, activation=activation, batch_first=batch_first,
        norm_first=norm_first, dtype=dtype))
    ours = _converted(ref)
    assert type(ours) is knn.TransformerDecoderLayer
    for m in (ref, ours):
        m.train(mode == "train")
    causal = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
    rg = mode != "eval_no_grad"

    def make():
        tgt = _inputs(dtype, batch_first, seq=4, requires_grad=rg, seed=1)
        memory = _inputs(dtype, batch_first, seq=5, requires_grad=rg, seed=2)
        return (tgt, memory), dict(tgt_mask=causal, tgt_is_causal=True,
                                   memory_key_padding_mask=_padding(),
                                   tgt_key_padding_mask=_padding(seq=4))
    with torch.no_grad() if not rg else torch.enable_grad():
        _close_run(ref, ours, make, dtype)


@pytest.mark.parametrize("mode", ["train", "eval", "eval_no_grad"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_encoder_stack_matches_torch_nested_tensor_path_included(mode, batch_first):
    """In eval under no_grad with batch_first and a padding mask, torch's encoder runs
    the layers on a nested tensor (its output is 0 at the padded positions, before the
    final norm); the converted encoder never does and must agree."""
    dtype = torch.float64
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=batch_first,
                                             dtype=dtype)
    ref = _perturb(torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(D, dtype=dtype),
                                               enable_nested_tensor=True))
    ours = _converted(ref)
    assert type(ours) is knn.TransformerEncoder
    for m in (ref, ours):
        m.train(mode == "train")
    rg = mode != "eval_no_grad"
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=dtype)
    for masks in (dict(src_key_padding_mask=_padding()), dict(mask=causal),
                  dict(mask=causal, is_causal=True), dict()):
        make = lambda: ((_inputs(dtype, batch_first, requires_grad=rg),), masks)
        with torch.no_grad() if not rg else torch.enable_grad():
            _close_run(ref, ours, make, dtype)
    if mode == "eval_no_grad" and batch_first:
        with torch.no_grad():
            x = _inputs(dtype, batch_first, requires_grad=False)
            before_norm = ours.norm
            ours.norm = None
            try:
                out = ours(x, src_key_padding_mask=_padding())
            finally:
                ours.norm = before_norm
            assert (out[0, -2:] == 0).all() and (out[1, -1:] == 0).all()


@pytest.mark.parametrize("mode", ["train", "eval_no_grad"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(mode, norm_first):
    dtype = torch.float64
    torch.manual_seed(0)
    ref = _perturb(torch.nn.Transformer(D, H, num_encoder_layers=2, num_decoder_layers=2,
                                        dim_feedforward=FF, dropout=0.0, norm_first=norm_first,
                                        batch_first=True, dtype=dtype))
    ours = _converted(ref)
    for m in (ref, ours):
        m.train(mode == "train")
    rg = mode != "eval_no_grad"
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)

    def make():
        src = _inputs(dtype, True, seq=5, requires_grad=rg, seed=1)
        tgt = _inputs(dtype, True, seq=4, requires_grad=rg, seed=2)
        return (src, tgt), dict(tgt_mask=tgt_mask, tgt_is_causal=True,
                                src_key_padding_mask=_padding(),
                                memory_key_padding_mask=_padding())
    with torch.no_grad() if not rg else torch.enable_grad():
        _close_run(ref, ours, make, dtype)


def test_training_step_matches_torch_and_dropout_runs_on_pykernels():
    """An optimizer step on a converted Transformer equals torch's (dropout 0); with
    dropout > 0 the converted model trains (its masks are libkernels', not torch's)."""
    torch.manual_seed(0)
    ref = torch.nn.Transformer(D, H, 1, 1, FF, dropout=0.0, batch_first=True,
                               dtype=torch.float64)
    ours = _converted(ref)
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1)
    opt = torch.optim.SGD(ours.parameters(), lr=0.1)
    src, tgt = _inputs(torch.float64, True, requires_grad=False), \
        _inputs(torch.float64, True, seq=4, requires_grad=False, seed=1)
    for m, o in ((ref, opt_ref), (ours, opt)):
        o.zero_grad()
        m(src, tgt).square().mean().backward()
        o.step()
    for (n, a), (_, b) in zip(ours.named_parameters(), ref.named_parameters()):
        torch.testing.assert_close(a, b, msg=lambda m: f"{n}: {m}")
    dropped = torch.nn.Transformer(D, H, 1, 1, FF, dropout=0.5, batch_first=True)
    pkt.convert(dropped)
    x, y = src.float(), tgt.float()
    torch.manual_seed(1)
    a = dropped(x, y)
    torch.manual_seed(1)
    b = dropped(x, y)
    dropped.eval()
    assert torch.equal(a, b) and not torch.allclose(a, dropped(x, y))


def _no_torch_compute(fn):
    names, _ = ops_run(fn)
    assert torch_compute_ops(names) == set(), sorted(names)
    assert {"pykernels.linear", "pykernels.layer_norm"} <= names, sorted(names)
    assert any(n.startswith("pykernels.") and "scaled_dot_product_attention" in n
               for n in names), sorted(names)
    return names


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_nothing_runs_on_torch_attention_or_linear(activation, norm_first):
    """Training (forward and backward) and eval under no_grad -- where torch's own layers
    would take torch._transformer_encoder_layer_fwd and nested tensors -- run every layer
    on pykernels."""
    torch.manual_seed(0)
    model = torch.nn.Transformer(D, H, 1, 1, FF, dropout=0.1, activation=activation,
                                 norm_first=norm_first, batch_first=True)
    pkt.convert(model)
    src, tgt = _inputs(torch.float32, True, requires_grad=False), \
        _inputs(torch.float32, True, seq=4, requires_grad=False, seed=1)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)

    def train_step():
        model.train()
        out = model(src, tgt, tgt_mask=mask, tgt_is_causal=True,
                    src_key_padding_mask=_padding())
        out.sum().backward()

    names = _no_torch_compute(train_step)
    assert "pykernels.linear_backward" in names and "pykernels.dropout" in names
    assert f"pykernels.{activation}" in names

    encoder = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D, H, FF, activation=activation, batch_first=True,
                                         norm_first=norm_first), 2)
    pkt.convert(encoder)
    encoder.eval()

    def inference():
        with torch.no_grad():
            encoder(src, src_key_padding_mask=_padding())
            encoder.layers[0](src, src_key_padding_mask=_padding())

    _no_torch_compute(inference)


def test_layers_built_from_pykernels_nn_have_pykernels_children():
    layer = knn.TransformerEncoderLayer(D, H, FF, activation="gelu")
    assert type(layer.self_attn) is knn.MultiheadAttention
    assert type(layer.self_attn.out_proj) is knn.NonDynamicallyQuantizableLinear
    assert type(layer.linear1) is knn.Linear and type(layer.norm1) is knn.LayerNorm
    decoder_layer = knn.TransformerDecoderLayer(D, H, FF)
    assert type(decoder_layer.multihead_attn) is knn.MultiheadAttention
    encoder = knn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, FF), 2)
    assert all(type(m) is knn.TransformerEncoderLayer for m in encoder.layers)
    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoderLayer(D, H, FF)
    layer = knn.TransformerEncoderLayer(D, H, FF)
    layer.load_state_dict(ref.state_dict())
    assert layer.state_dict().keys() == ref.state_dict().keys()


def test_twins_have_torch_constructor_signatures():
    import inspect
    for name in ("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
                 "TransformerEncoder"):
        ours = inspect.signature(getattr(knn, name)).parameters
        theirs = inspect.signature(getattr(torch.nn, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name
