"""A character-level GPT on the fortune cookies of Debian's `fortunes` package, on pykernels.

    chars -> wte + wpe -> 4 x Block(LayerNorm -> causal self-attention (4 heads) -> +,
             LayerNorm -> MLP (Linear 4C, GELU, Linear) -> +) -> LayerNorm -> lm_head (tied)

nanoGPT's architecture (pykernels.torch.models.GPT) with 128-dim embeddings and a context
of 128 characters (~0.8M parameters), trained with nanoGPT's recipe: AdamW (betas 0.9,
0.99; weight decay on the matrices only), a linear warm-up then a cosine decay to lr/10,
the gradient norm clipped at 1. Every layer and the loss are pykernels (Embedding,
LayerNorm, Linear, GELU, Dropout, scaled_dot_product_attention, cross_entropy: our
C++/CUDA kernels, forward and backward); torch supplies tensors, autograd and AdamW.
``GPT(config, torch.nn)`` is the identical torch model (torch's layers and its own
scaled_dot_product_attention).

Data: the English collections of /usr/share/games/fortunes (COLLECTIONS below; Debian's
non-offensive set, without the ASCII drawings), ~2.6 MB of text. Overstruck characters
(``_\\bx``) are resolved, each fortune ends with a ``%`` line as in the files, and every
tenth fortune goes to the validation set: the same 90/10 split on every machine. The
vocabulary is the characters of the text. Training windows are drawn at random from a
generator seeded with --seed (so --compare's twin sees the same batches); the validation
loss is the mean over fixed, evenly spaced windows (--eval-batches x --batch-size).

    python examples/char_gpt.py                        # 2,000 steps, ~8 min on 2 threads
    python examples/char_gpt.py --compare              # also the identical torch model
    python examples/char_gpt.py --save runs/char_gpt.pt
    python examples/char_gpt.py --resume runs/char_gpt.pt --steps 3000
    python examples/char_gpt.py --resume runs/char_gpt.pt --prompt "Q: " --temperature 0.6
    python examples/char_gpt.py --n-layer 6 --n-embd 192 --steps 4000   # bigger, longer

Sizing (the defaults, for 2 CPU threads): a step is 32 windows of 128 characters (4,096
tokens, ~23 GFLOP forward and backward). Measured on the dev machine's 2-core Intel Xeon
while other users kept its load average at 5-70 (so wall-clock times there were 2-4x
the CPU times and are not the sizing basis): torch's twin needs 330-360 ms of CPU time a
step at 1 thread, pykernels 375-395 ms with the fused CPU attention kernel (1.1-1.2x;
with the first, row-at-a-time kernel 880-900 ms, 2.6x: its attention took 145 ms a
layer against torch's 17). At 2 threads on an idle machine (not to be had here: an
estimate from those CPU times and a 1.6-1.8x two-thread speed-up) torch's step is
~0.2 s, so 2,000 steps plus 8 evaluations (16 x 32 windows each), loading (~2 s) and the
500-character sample come to ~7-7.5 min for torch and ~8-8.5 min for pykernels.

A checkpoint's "model" entry is a plain state_dict that loads into
``GPT(config, torch.nn)`` and back (its "config" and "vocab" entries rebuild the model;
with --resume and --steps not after the checkpoint's step nothing is trained and only
the sample is drawn). The loss curves go to a PNG (--plot). At the end a sample of
--sample-chars characters continues --prompt (--temperature, --top-k; the same text for
the same --seed). The last line printed is ``val loss N.NNNN``.
"""
import argparse
import math
import os
import re
import sys
import time
import types
import unicodedata

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402  (the progress bar)
import runtime  # noqa: E402

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402
from pykernels.torch.models import GPT, GPTConfig  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = "/usr/share/games/fortunes"
PACKAGE = "fortunes"  # Debian's package of DEFAULT_DIR (the Makefile installs it)
# Debian's `fortunes` (the offensive ones are another package, fortunes-off, in off/),
# without ascii-art (drawings, not text). Missing files are skipped.
COLLECTIONS = (
    "art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs",
    "education", "ethnic", "food", "fortunes", "goedel", "humorists", "kids", "knghtbrd",
    "law", "linux", "linuxcookie", "literature", "love", "magic", "medicine", "men-women",
    "miscellaneous", "news", "paradoxum", "people", "perl", "pets", "platitudes",
    "politics", "pratchett", "riddles", "science", "songs-poems", "sports", "startrek",
    "tao", "translate-me", "wisdom", "work", "zippy")
# Restored from a checkpoint by --resume: they define the model.
MODEL_ARGS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias")
# The default model and batch (the sizing above; benchmarks/bench.py times them too).
DEFAULT_MODEL = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 128, "dropout": 0.0,
                 "bias": False}
DEFAULT_BATCH = 32


def default_config(vocab_size):
    """The GPTConfig of the default run for a vocabulary of ``vocab_size`` characters."""
    return GPTConfig(vocab_size=vocab_size, **DEFAULT_MODEL)


# ---------------------------------------------------------------- data

def read_collection(path):
    """The fortunes of one strfile source file: the texts between ``%`` lines, with
    overstruck characters resolved (``_\\bx`` and ``x\\bx`` are ``x``), control
    characters other than newline and tab removed, trailing blanks removed; empty ones
    dropped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # a backspace erases the character before it (underlining, bold), a stray one goes
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"[^\n\x08]\x08", "", text)
    text = text.replace("\x08", "")
    # other control characters (a bell, stray C1 codes of mis-encoded text) go too
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    fortunes, lines = [], []
    for line in text.split("\n"):
        if line == "%":
            fortunes.append("\n".join(lines))
            lines = []
        else:
            lines.append(line.rstrip())
    fortunes.append("\n".join(lines))
    return [f.strip("\n") for f in fortunes if f.strip()]


class Corpus:
    """The training and validation text, the vocabulary and both as int64 tensors."""

    def __init__(self, directory=DEFAULT_DIR, collections=COLLECTIONS, vocab=None):
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"{directory} does not exist: install Debian's "
                                    f"'{PACKAGE}' package (apt-get install {PACKAGE}) or pass "
                                    "--data DIR")
        self.files = [name for name in collections if os.path.isfile(os.path.join(directory, name))]
        if not self.files:
            raise FileNotFoundError(f"no fortune collection ({', '.join(collections[:3])}, ...) "
                                    f"in {directory}: install Debian's '{PACKAGE}' package")
        fortunes = [f for name in self.files for f in read_collection(os.path.join(directory, name))]
        # every tenth fortune to validation: a fixed split drawn from every collection
        self.train_text = "".join(f + "\n%\n" for i, f in enumerate(fortunes) if i % 10 != 9)
        self.val_text = "".join(f + "\n%\n" for i, f in enumerate(fortunes) if i % 10 == 9)
        self.fortunes = len(fortunes)
        self.vocab = vocab if vocab is not None else "".join(
            sorted(set(self.train_text) | set(self.val_text)))
        self.train = self.encode(self.train_text)
        self.val = self.encode(self.val_text)

    def encode(self, text, strict=False):
        """text -> int64 tensor of vocabulary indices (characters outside the vocabulary:
        the index of '?' when not ``strict``, else ValueError)."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = np.frombuffer(self.vocab.encode("utf-32-le"), dtype=np.uint32)
        order = np.argsort(table)
        pos = np.clip(np.searchsorted(table[order], points), 0, len(table) - 1)
        found = table[order][pos] == points
        if not found.all():
            missing = "".join(sorted(set(chr(c) for c in points[~found])))
            if strict or "?" not in self.vocab:
                raise ValueError(f"characters not in the vocabulary: {missing!r}")
            pos[~found] = np.searchsorted(table[order], ord("?"))
        return torch.from_numpy(order[pos].astype(np.int64))

    def decode(self, ids):
        return "".join(self.vocab[i] for i in ids)


def windows(data, starts, block_size):
    """(inputs, targets): (len(starts), block_size) int64, contiguous; targets shifted by one."""
    chunk = data[starts.view(-1, 1) + torch.arange(block_size + 1)]
    return chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()


def val_starts(n_val, block_size, count):
    """``count`` fixed, evenly spaced window starts over the validation text."""
    last = n_val - block_size - 1
    if last < 0:
        raise SystemExit(f"the validation text ({n_val} characters) is shorter than a block")
    return torch.linspace(0, last, max(1, count)).round().long()


# ---------------------------------------------------------------- training

def lr_at(step, args):
    """nanoGPT's schedule: linear warm-up for --warmup steps, then a cosine decay from
    --lr to --min-lr at --steps (a function of the step alone, so --resume continues it)."""
    if step < args.warmup:
        return args.lr * (step + 1) / (args.warmup + 1)
    t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.min_lr + 0.5 * (1.0 + math.cos(math.pi * t)) * (args.lr - args.min_lr)


def functional_namespace(backend, attention):
    """The functional namespace the model calls (attention, loss, sampling softmax):
    torch's for the twin; pykernels' otherwise (``attention='torch'``, a developer option:
    torch's scaled_dot_product_attention inside the pykernels model)."""
    if backend == "torch":
        return torch.nn.functional
    sdpa = getattr(pkt.functional, "scaled_dot_product_attention", None)
    if attention == "torch":
        sdpa = torch.nn.functional.scaled_dot_product_attention
    elif sdpa is None:
        raise SystemExit(f"pykernels.torch.functional.scaled_dot_product_attention is missing "
                         f"(pykernels {pykernels.__version__}): this demo needs it")
    return types.SimpleNamespace(scaled_dot_product_attention=sdpa,
                                 cross_entropy=pkt.functional.cross_entropy,
                                 softmax=pkt.functional.softmax)


def build_model(backend, config, attention="pykernels"):
    nn = torch.nn if backend == "torch" else pkt.nn
    return GPT(config, nn, functional_namespace(backend, attention))


@torch.no_grad()
def evaluate(model, data, starts, args):
    """Mean cross-entropy (nats per character) over the windows at ``starts``."""
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(starts), args.batch_size):
            x, y = windows(data, starts[i:i + args.batch_size], args.block_size)
            _, loss = model(x.to(args.device), y.to(args.device))
            total += loss.item() * len(x)
    model.train(was_training)
    return total / len(starts)


def train(name, corpus, config, args, ckpt=None, save=None):
    """Train build_model(name, config) from args.seed (or continue from ckpt).
    Returns (model, history); history: step, train_loss (mean since the last evaluation),
    val_loss, seconds (training time of those steps, evaluation excluded)."""
    torch.manual_seed(args.seed)
    model = build_model(name, config, args.attention).to(args.device)
    opt = model.configure_optimizer(args.weight_decay, args.lr, (args.beta1, args.beta2))
    gen = torch.Generator().manual_seed(args.seed)  # the training windows
    history = {"step": [], "train_loss": [], "val_loss": [], "seconds": []}
    step = 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["rng"])
        history, step = ckpt["history"], ckpt["step"]
        print(f"[{name}] resumed from {args.resume} after step {step}")
    val = corpus.val.to(args.device)
    starts = val_starts(len(corpus.val), args.block_size, args.eval_batches * args.batch_size)
    high = len(corpus.train) - args.block_size - 1
    tokens = args.batch_size * args.block_size
    model.train()
    while step < args.steps:
        stop = min(args.steps, (step // args.eval_interval + 1) * args.eval_interval)
        bar = fashion_mnist.ProgressBar((stop - step) * tokens,
                                        f"[{name}] steps {step + 1}-{stop}/{args.steps}", unit="tok")
        total, count, start = 0.0, 0, time.perf_counter()
        while step < stop:
            x, y = windows(corpus.train, torch.randint(high, (args.batch_size,), generator=gen),
                           args.block_size)
            for group in opt.param_groups:
                group["lr"] = lr_at(step, args)
            _, loss = model(x.to(args.device), y.to(args.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            step += 1
            total += loss.item()
            count += 1
            bar.update(tokens, loss=total / count)
        seconds = time.perf_counter() - start
        val_loss = evaluate(model, val, starts, args)
        for key, value in zip(history, (step, total / count, val_loss, seconds)):
            history[key].append(value)
        print(f"[{name}] step {step}: train loss {total / count:.4f}  val loss {val_loss:.4f}  "
              f"({1000 * seconds / count:.0f} ms/step)", flush=True)
        if save:
            save(model, opt, gen, step, history)
    if not history["step"]:
        raise SystemExit("nothing trained and no checkpoint: --steps must be positive")
    return model, history


def checkpoint_writer(path, args, config, vocab):
    """save(...) for train(): everything needed to resume or sample."""
    def save(model, opt, gen, step, history):
        runtime.save_checkpoint(path, model=model.state_dict(), optimizer=opt.state_dict(),
                                generator=gen.get_state(), rng=torch.get_rng_state(), step=step,
                                history=history, args=vars(args), config=vars(config),
                                vocab=vocab)
    return save


# ---------------------------------------------------------------- outputs

def plot_losses(path, histories):
    """Training loss (mean over each interval) and validation loss against the step."""
    plt = runtime.pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, h in histories.items():
        line, = ax.plot(h["step"], h["train_loss"], marker=".",
                        label=f"{name} train (mean of the interval)")
        ax.plot(h["step"], h["val_loss"], marker="s", linestyle="--", color=line.get_color(),
                label=f"{name} validation")
    ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title="char GPT on fortunes")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    runtime.save_figure(plt, fig, path, "loss curves")


def print_comparison(ours, theirs):
    """Both runs' validation losses at the same steps, and the step-time ratio."""
    print(f"{'step':>6}  {'pykernels':>9}  {'torch':>9}  {'diff':>7}")
    for step, a, b in zip(ours["step"], ours["val_loss"], theirs["val_loss"]):
        print(f"{step:>6}  {a:9.4f}  {b:9.4f}  {100 * (a - b) / b:+6.2f}%")
    # every history starts at step 0 (a resumed one holds the checkpoint's intervals)
    ours_ms = 1000 * sum(ours["seconds"]) / ours["step"][-1]
    theirs_ms = 1000 * sum(theirs["seconds"]) / theirs["step"][-1]
    print(f"pykernels: val loss {ours['val_loss'][-1]:.4f}, {ours_ms:.0f} ms/step")
    print(f"torch:     val loss {theirs['val_loss'][-1]:.4f}, {theirs_ms:.0f} ms/step")
    print(f"time ratio pykernels/torch: {ours_ms / theirs_ms:.2f}")


def sample(model, corpus, args):
    """--sample-chars characters after --prompt, drawn with a generator seeded by --seed."""
    try:
        prompt = corpus.encode(args.prompt, strict=True) if args.prompt else corpus.encode("\n")
    except ValueError as e:
        raise SystemExit(f"--prompt: {e}") from None
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    model.eval()
    out = model.generate(prompt.view(1, -1).to(args.device), args.sample_chars,
                         temperature=args.temperature, top_k=args.top_k or None, generator=gen)
    return corpus.decode(out[0].tolist())


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DEFAULT_DIR, help="directory of the fortune files")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch and pykernels")
    p.add_argument("--n-layer", type=int, default=DEFAULT_MODEL["n_layer"])
    p.add_argument("--n-head", type=int, default=DEFAULT_MODEL["n_head"])
    p.add_argument("--n-embd", type=int, default=DEFAULT_MODEL["n_embd"])
    p.add_argument("--block-size", type=int, default=DEFAULT_MODEL["block_size"],
                   help="context length (characters)")
    p.add_argument("--dropout", type=float, default=DEFAULT_MODEL["dropout"])
    p.add_argument("--bias", action=argparse.BooleanOptionalAction, default=DEFAULT_MODEL["bias"],
                   help="biases in the Linear layers and LayerNorms")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    p.add_argument("--min-lr", type=float, default=2e-4, help="learning rate at the last step")
    p.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--grad-clip", type=float, default=1.0, help="gradient norm clip (0: none)")
    p.add_argument("--eval-interval", type=int, default=250, help="validation loss every N steps")
    p.add_argument("--eval-batches", type=int, default=16,
                   help="validation windows: this many batches of --batch-size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", metavar="PATH", help="write a checkpoint at every evaluation")
    p.add_argument("--resume", metavar="PATH", help="continue from (or sample with) a checkpoint")
    p.add_argument("--prompt", default="The ", help="the start of the sample")
    p.add_argument("--sample-chars", type=int, default=500, help="characters to generate (0: none)")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=0, help="sample from the k likeliest (0: all)")
    p.add_argument("--plot", metavar="PNG", default=os.path.join(ROOT, "runs", "char_gpt.png"),
                   help="where to draw the loss curves ('' = no plot)")
    p.add_argument("--compare", action="store_true",
                   help="also train the identical torch model (same seed, same batches)")
    # Developer options: the main run on torch's modules, or pykernels' model with torch's
    # scaled_dot_product_attention.
    p.add_argument("--backend", default="pykernels", choices=["pykernels", "torch"],
                   help=argparse.SUPPRESS)
    p.add_argument("--attention", default="pykernels", choices=["pykernels", "torch"],
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if min(args.steps, args.batch_size, args.eval_interval, args.eval_batches,
           args.block_size) < 1:
        p.error("--steps, --batch-size, --eval-interval, --eval-batches and --block-size "
                "must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    runtime.setup(args.device, args.threads)
    ckpt = None
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu", weights_only=False)
        for key in MODEL_ARGS:
            setattr(args, key, ckpt["args"][key])
    try:
        corpus = Corpus(args.data, vocab=ckpt["vocab"] if ckpt else None)
    except FileNotFoundError as e:
        raise SystemExit(str(e)) from None
    print(f"fortunes: {corpus.fortunes} fortunes from {len(corpus.files)} collections in "
          f"{args.data}: {len(corpus.train)} train / {len(corpus.val)} validation characters, "
          f"vocabulary of {len(corpus.vocab)} ({time.perf_counter() - start:.1f} s)")
    config = GPTConfig(vocab_size=len(corpus.vocab), block_size=args.block_size,
                       n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                       dropout=args.dropout, bias=args.bias)
    params = sum(p.numel() for p in GPT(config, torch.nn).parameters())
    print(f"pykernels {pykernels.__version__} on {args.device} ({args.threads} threads); GPT: "
          f"{config.n_layer} layers, {config.n_head} heads, {config.n_embd} embd, context "
          f"{config.block_size}, {params / 1e6:.2f}M parameters; batch {args.batch_size}, "
          f"{args.steps} steps, AdamW lr {args.lr}")

    save = checkpoint_writer(args.save, args, config, corpus.vocab) if args.save else None
    if ckpt is not None and args.steps <= ckpt["step"]:
        # only sample, with the saved model
        model = build_model(args.backend, config, args.attention).to(args.device)
        model.load_state_dict(ckpt["model"])
        ours = ckpt["history"]
        print(f"[{args.backend}] model of {args.resume} (step {ckpt['step']})")
    else:
        model, ours = train(args.backend, corpus, config, args, ckpt, save)
    histories = {args.backend: ours}
    if args.compare:
        twin_args = argparse.Namespace(**vars(args))
        twin_args.resume = None
        _, theirs = train("torch", corpus, config, twin_args)
        histories["torch (twin)" if args.backend == "torch" else "torch"] = theirs
    if args.plot:
        plot_losses(args.plot, histories)
    if args.compare:
        print_comparison(ours, theirs)
    if args.sample_chars > 0:
        print(f"--- sample (seed {args.seed}, temperature {args.temperature}"
              f"{f', top-k {args.top_k}' if args.top_k else ''}):")
        print(sample(model, corpus, args))
        print("---")
    print(f"total time {time.perf_counter() - start:.1f} s")
    print(f"val loss {ours['val_loss'][-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
