"""Reference models built from a module namespace, so that the same architecture
can be instantiated on pykernels (``pykernels.torch.nn``, the default) or on torch
(``torch.nn``) with identical parameter names, shapes and initialisation:

    model = lenet5()                  # every layer a pykernels twin
    reference = lenet5(torch.nn)      # the identical torch model
    reference.load_state_dict(model.state_dict())

Models that call functionals as well (GPT: attention and the loss) take the functional
namespace too (``F``: pykernels.torch.functional by default with pykernels' layers,
torch.nn.functional with torch.nn's).

Used by examples/ and by ``python -m pykernels.torch.profile``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

__all__ = ["lenet5", "mlp", "BasicBlock", "resnet_small", "ResNet18", "resnet18",
           "GPTConfig", "CausalSelfAttention", "MLP", "Block", "GPT"]


def _namespace(nn):
    if nn is None:
        from . import nn as pk_nn
        return pk_nn
    return nn


def _functional(nn, F):
    """The functional namespace that goes with the module namespace ``nn``: ``F`` when
    given, else torch.nn.functional for torch.nn and pykernels.torch.functional otherwise."""
    if F is not None:
        return F
    if nn is torch.nn:
        return torch.nn.functional
    from . import functional as pk_functional
    return pk_functional


def lenet5(nn=None, num_classes: int = 10) -> torch.nn.Sequential:
    """LeNet-5 for 1x28x28 images (MNIST, Fashion-MNIST), in its modern form
    (ReLU and max pooling instead of the 1998 paper's sigmoid-like squashing and
    average pooling; the layer sizes are the paper's):

        (N,1,28,28) conv 5x5, 6, padding 2 -> ReLU -> max pool 2   -> (N,6,14,14)
                    conv 5x5, 16           -> ReLU -> max pool 2   -> (N,16,5,5)
                    flatten -> fc 120 -> ReLU -> fc 84 -> ReLU -> fc num_classes
    """
    nn = _namespace(nn)
    return torch.nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes))


def mlp(nn=None, sizes=(784, 128, 64, 10)) -> torch.nn.Sequential:
    """The from-scratch MLP: Linear layers of ``sizes`` with ReLU between them."""
    nn = _namespace(nn)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return torch.nn.Sequential(*layers)


class BasicBlock(torch.nn.Module):
    """ResNet's basic block (He et al. 2015), torchvision's layout and names:

        x -> conv3x3(stride) -> bn1 -> relu -> conv3x3 -> bn2 -> (+ shortcut(x)) -> relu

    ``shortcut`` is the identity, or ``downsample`` = 1x1 conv (stride) -> BatchNorm when
    the stride or the width changes. (N,cin,H,W) -> (N,cout,H/stride,W/stride).
    ``nn`` is the namespace the layers come from (pykernels.torch.nn or torch.nn)."""

    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int = 1, nn=None):
        super().__init__()
        nn = _namespace(nn)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = torch.nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _stage(nn, cin: int, cout: int, blocks: int, stride: int) -> torch.nn.Sequential:
    layers = [BasicBlock(cin, cout, stride, nn)]
    layers += [BasicBlock(cout, cout, 1, nn) for _ in range(blocks - 1)]
    return torch.nn.Sequential(*layers)


def _init_resnet(model: torch.nn.Module) -> None:
    """torchvision's initialisation: Kaiming-normal convolutions (fan_out, ReLU),
    BatchNorm weight 1 and bias 0; each block's last BatchNorm starts at 0 when
    ``zero_init_residual`` is wanted (not here: the demo trains few epochs)."""
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)):
            torch.nn.init.ones_(m.weight)
            torch.nn.init.zeros_(m.bias)


def resnet_small(nn=None, widths=(32, 64, 128), blocks=(1, 1, 1), in_channels: int = 1,
                 num_classes: int = 10) -> torch.nn.Sequential:
    """A residual network for small images (28x28 Fashion-MNIST, 32x32 CIFAR), in the
    style of He et al.'s CIFAR ResNets:

        (N,1,28,28) conv3x3 w0 -> BN -> ReLU                         -> (N,w0,28,28)
                    stage 1: blocks[0] BasicBlocks, w0               -> (N,w0,28,28)
                    stage 2: blocks[1] BasicBlocks, w1, first stride 2 -> (N,w1,14,14)
                    stage 3: blocks[2] BasicBlocks, w2, first stride 2 -> (N,w2,7,7)
                    global average pool -> flatten -> fc num_classes
    """
    nn = _namespace(nn)
    w0, w1, w2 = widths
    model = torch.nn.Sequential(
        nn.Conv2d(in_channels, w0, 3, padding=1, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True),
        _stage(nn, w0, w0, blocks[0], 1),
        _stage(nn, w0, w1, blocks[1], 2),
        _stage(nn, w1, w2, blocks[2], 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w2, num_classes))
    _init_resnet(model)
    return model


class ResNet18(torch.nn.Module):
    """torchvision's ``resnet18()`` written out (the same modules, names and shapes, so
    its state dicts load both ways), for 3x224x224 ImageNet-style inputs:

        (N,3,224,224) conv1 7x7/2 64 -> bn1 -> relu -> maxpool 3x3/2   -> (N,64,56,56)
                      layer1: 2 BasicBlocks 64                          -> (N,64,56,56)
                      layer2: 2 BasicBlocks 128, stride 2               -> (N,128,28,28)
                      layer3: 2 BasicBlocks 256, stride 2               -> (N,256,14,14)
                      layer4: 2 BasicBlocks 512, stride 2               -> (N,512,7,7)
                      avgpool (adaptive, 1x1) -> flatten -> fc num_classes
    """

    def __init__(self, nn=None, num_classes: int = 1000):
        super().__init__()
        nn = _namespace(nn)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _stage(nn, 64, 64, 2, 1)
        self.layer2 = _stage(nn, 64, 128, 2, 2)
        self.layer3 = _stage(nn, 128, 256, 2, 2)
        self.layer4 = _stage(nn, 256, 512, 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        _init_resnet(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(nn=None, num_classes: int = 1000) -> ResNet18:
    """torchvision's ResNet-18 layout on ``nn`` (pykernels.torch.nn by default)."""
    return ResNet18(nn, num_classes)


# ------------------------------------------------------------------ GPT (nanoGPT)

@dataclass
class GPTConfig:
    """nanoGPT's configuration (Karpathy's model.py, GPT-2 sizes by default)."""
    vocab_size: int = 50304
    block_size: int = 1024      # the longest context
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True           # biases in the Linear layers and LayerNorms


class CausalSelfAttention(torch.nn.Module):
    """Multi-head causal self-attention, nanoGPT's layout and names:

        x (B,T,C) -> c_attn (one Linear to 3C) -> q, k, v (B,nh,T,hs) as views of its output
                  -> F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p)
                  -> heads merged (B,T,C) -> c_proj -> resid_dropout

    ``nn``/``F``: the module and functional namespaces (pykernels' or torch's)."""

    def __init__(self, config: GPTConfig, nn=None, F=None):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd ({config.n_embd}) must be a multiple of n_head "
                             f"({config.n_head})")
        nn = _namespace(nn)
        # the function itself, not the namespace: a module object in an attribute would
        # make the model impossible to deepcopy or pickle
        self.attention = _functional(nn, F).scaled_dot_product_attention
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        # (B,T,3C) -> three (B,T,C) views -> (B,T,nh,hs) -> (B,nh,T,hs): strided views, no copies
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        y = self.attention(q, k, v, attn_mask=None,
                           dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(torch.nn.Module):
    """x -> c_fc (C to 4C) -> GELU -> c_proj (4C to C) -> dropout."""

    def __init__(self, config: GPTConfig, nn=None):
        super().__init__()
        nn = _namespace(nn)
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(torch.nn.Module):
    """A pre-LayerNorm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig, nn=None, F=None):
        super().__init__()
        nn = _namespace(nn)
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config, nn, F)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config, nn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(torch.nn.Module):
    """nanoGPT's GPT (a GPT-2 decoder), the same module names, shapes and initialisation,
    so state dicts load both ways between ``GPT(config)`` and ``GPT(config, torch.nn)``:

        idx (B,T) -> wte(idx) + wpe(0..T-1) -> drop -> n_layer Blocks -> ln_f -> lm_head
        -> logits (B,T,vocab_size)

    lm_head's weight is wte's (weight tying); Linear and Embedding weights start N(0, 0.02),
    the residual projections (``*.c_proj.weight``) N(0, 0.02/sqrt(2 n_layer)), biases 0.
    With ``nn`` = pykernels.torch.nn (the default) every layer and the loss run on
    pykernels; ``F`` supplies scaled_dot_product_attention and cross_entropy."""

    def __init__(self, config: GPTConfig, nn=None, F=None):
        super().__init__()
        nn = _namespace(nn)
        F = _functional(nn, F)
        self.config = config
        self.cross_entropy = F.cross_entropy
        self.softmax = F.softmax
        self.transformer = torch.nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=torch.nn.ModuleList([Block(config, nn, F) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: torch.nn.Module) -> None:
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters (the tied weight once); without the position embedding by default."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx: torch.Tensor, targets: Optional[torch.Tensor] = None):
        """idx (B,T) int64, T <= block_size -> (logits (B,T,vocab), mean cross-entropy
        against targets (B,T), or None). Without targets only the last position's logits
        are computed (B,1,vocab), as nanoGPT does for generation."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"GPT: a sequence of length {T} is longer than block_size "
                             f"{self.config.block_size}")
        pos = torch.arange(T, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        loss = self.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def configure_optimizer(self, weight_decay: float, learning_rate: float, betas=(0.9, 0.95),
                            **kwargs) -> torch.optim.AdamW:
        """nanoGPT's AdamW: weight decay on the matrices (Linear weights, the embeddings),
        none on biases and LayerNorm weights (every parameter with fewer than 2 dims)."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **kwargs)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: Optional[int] = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """idx (B,T) continued by max_new_tokens sampled tokens -> (B,T+max_new_tokens).
        The context is cropped to the last block_size tokens; logits are divided by
        ``temperature`` and, with ``top_k``, all but the k likeliest tokens are dropped.
        ``generator`` (on idx's device) makes the samples reproducible."""
        if temperature <= 0:
            raise ValueError(f"GPT.generate: temperature must be > 0, got {temperature}")
        for _ in range(max_new_tokens):
            context = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            logits, _ = self(context)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("inf")
            probs = self.softmax(logits, dim=-1)
            nxt = torch.multinomial(probs, num_samples=1, generator=generator)
            idx = torch.cat((idx, nxt), dim=1)
        return idx
