"""pykernels.torch.models' GPT (nanoGPT's architecture): the pykernels model and its torch
twin have the same state dict and initialisation, agree in forward, loss and gradients,
train, and sample reproducibly; attention takes strided views of c_attn's output."""
import pytest

torch = pytest.importorskip("torch")
import pykernels.torch as pkt  # noqa: E402
from pykernels.torch import models  # noqa: E402
from pykernels.torch.models import GPT, GPTConfig  # noqa: E402

CONFIG = GPTConfig(vocab_size=37, block_size=16, n_layer=2, n_head=4, n_embd=32)


def _twins(config=CONFIG, F=None):
    torch.manual_seed(0)
    ours = GPT(config, F=F)
    torch.manual_seed(0)
    theirs = GPT(config, torch.nn)
    return ours, theirs


def _torch_attention_F():
    """pykernels' functionals with torch's attention (the layers checked on their own)."""
    import types
    return types.SimpleNamespace(cross_entropy=pkt.functional.cross_entropy,
                                 softmax=pkt.functional.softmax,
                                 scaled_dot_product_attention=torch.nn.functional.scaled_dot_product_attention)


def test_layers_come_from_the_namespace_and_weights_are_tied():
    ours, theirs = _twins(F=_torch_attention_F())
    block = ours.transformer.h[0]
    assert type(block.attn.c_attn) is pkt.nn.Linear and type(block.ln_1) is pkt.nn.LayerNorm
    assert type(block.mlp.gelu) is pkt.nn.GELU and type(ours.transformer.wte) is pkt.nn.Embedding
    assert type(theirs.transformer.h[0].attn.c_attn) is torch.nn.Linear
    assert theirs.transformer.h[0].attn.attention is torch.nn.functional.scaled_dot_product_attention
    assert ours.lm_head.weight is ours.transformer.wte.weight
    # nanoGPT's parameter names; the tied weight appears under both names
    names = set(ours.state_dict())
    assert {"transformer.wte.weight", "lm_head.weight", "transformer.h.1.attn.c_attn.weight",
            "transformer.h.0.mlp.c_proj.bias", "transformer.ln_f.weight"} <= names
    assert names == set(theirs.state_dict())
    for k, v in ours.state_dict().items():
        assert torch.equal(v, theirs.state_dict()[k]), k
    # the residual projections start smaller (0.02 / sqrt(2 n_layer))
    std = ours.transformer.h[0].attn.c_proj.weight.std().item()
    assert 0.006 < std < 0.014, std
    assert ours.transformer.h[0].attn.c_attn.weight.std().item() > 0.015
    assert ours.num_params() == sum(p.numel() for p in ours.parameters()) - 16 * 32


def test_no_bias_config_and_bad_sizes():
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, bias=False)
    model = GPT(config, torch.nn)
    assert model.transformer.h[0].ln_1.bias is None and model.transformer.h[0].attn.c_attn.bias is None
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=3, n_embd=8), torch.nn)
    with pytest.raises(ValueError, match="longer than block_size"):
        model(torch.zeros(1, 9, dtype=torch.long))


def _compare(ours, theirs, tol=1e-4):
    idx = torch.randint(CONFIG.vocab_size, (3, CONFIG.block_size))
    targets = torch.randint(CONFIG.vocab_size, (3, CONFIG.block_size))
    logits_a, loss_a = ours(idx, targets)
    logits_b, loss_b = theirs(idx, targets)
    torch.testing.assert_close(logits_a, logits_b, rtol=tol, atol=tol)
    torch.testing.assert_close(loss_a, loss_b, rtol=tol, atol=tol)
    loss_a.backward()
    loss_b.backward()
    grads_b = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, grads_b[name].grad, rtol=tol, atol=tol, msg=name)
    last, none = ours(idx)  # no targets: the last position only
    assert none is None and last.shape == (3, 1, CONFIG.vocab_size)
    torch.testing.assert_close(last, logits_a[:, -1:].detach(), rtol=tol, atol=tol)


def test_pykernels_layers_match_torch_with_torch_attention():
    _compare(*_twins(F=_torch_attention_F()))


def test_pykernels_model_matches_its_torch_twin():
    _compare(*_twins())


def test_attention_gets_strided_views_of_c_attn_output():
    seen = []

    def spy(q, k, v, **kwargs):
        seen.append((q, k, v, kwargs))
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs)

    F = _torch_attention_F()
    F.scaled_dot_product_attention = spy
    model = GPT(CONFIG, F=F)
    model(torch.randint(CONFIG.vocab_size, (2, 5)))
    q, k, v, kwargs = seen[0]
    assert q.shape == (2, 4, 5, 8) and not q.is_contiguous()
    # one buffer: c_attn's (B,T,3C) output; k and v start C and 2C elements after q
    assert q.untyped_storage().data_ptr() == k.untyped_storage().data_ptr() == v.untyped_storage().data_ptr()
    assert k.data_ptr() - q.data_ptr() == 32 * q.element_size()
    assert q.stride() == (5 * 96, 8, 96, 1)
    assert kwargs["is_causal"] and kwargs["dropout_p"] == 0.0 and kwargs["attn_mask"] is None


def test_trains_and_generates_reproducibly():
    torch.manual_seed(0)
    model = GPT(CONFIG)
    opt = model.configure_optimizer(weight_decay=0.1, learning_rate=1e-2)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and all(p.dim() == 2 for p in decay["params"])
    assert no_decay["weight_decay"] == 0.0 and all(p.dim() == 1 for p in no_decay["params"])
    # the tied weight once
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    seq = torch.arange(CONFIG.block_size + 1) % 5  # a periodic sequence: learnable
    x, y = seq[:-1].repeat(4, 1), seq[1:].repeat(4, 1)
    first = None
    for _ in range(60):
        _, loss = model(x, y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first, (first, loss.item())
    model.eval()
    prompt = torch.tensor([[0, 1, 2]])
    out = [model.generate(prompt, 20, temperature=0.8, top_k=3,
                          generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert out[0].shape == (1, 23) and torch.equal(out[0], out[1])
    assert torch.equal(out[0][0, :3], prompt[0])
    assert out[0][0, 3:].tolist() == [(i + 3) % 5 for i in range(20)]  # it learnt the period
    # the context is cropped to block_size: generating past it works
    assert model.generate(prompt, CONFIG.block_size + 4, top_k=1).shape == (1, CONFIG.block_size + 7)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, 1, temperature=0.0)


def test_models_all_lists_the_gpt_classes():
    assert {"GPTConfig", "CausalSelfAttention", "MLP", "Block", "GPT"} <= set(models.__all__)
