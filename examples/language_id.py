"""Tell the language of a single word from its letters: a character-level LSTM on pykernels.

    word -> Embedding(letters + 2, 32) -> LSTM(32, 128, num_layers=2) -> h_n of the
    last layer -> Linear(128, 10 languages), cross-entropy, Adam with a linear warm-up
    and a cosine decay, gradient norm clipped at 1.

Data: ten of Debian's word lists (examples/wordlists.py says how they are cleaned,
de-duplicated across languages and split, the same on every machine): English,
German, French, Italian, Spanish, Portuguese, Dutch, Swedish, Polish, Danish, the
same number of words each. The embedding, the LSTM, the classifier and the loss are
pykernels (pykernels.torch.nn.Embedding/LSTM/Linear and
pykernels.torch.functional.cross_entropy: our C++/CUDA kernels, forward and
backward); torch supplies tensors, autograd, packing and the optimiser.

    python examples/language_id.py                      # 2 epochs, ~3 min on 2 threads: 89.78%
    python examples/language_id.py --compare            # also the identical torch.nn model
    python examples/language_id.py --cell gru --bidirectional --packed
    python examples/language_id.py --save runs/language_id.pt
    python examples/language_id.py --resume runs/language_id.pt --predict hund chien perro

Words go in as letter indices, left-padded to the longest word of the batch so that
the last step is the last letter; with --packed they are packed by their true
lengths (torch.nn.utils.rnn.pack_padded_sequence) and no padding is seen. The
classifier reads the last layer's final hidden state (both directions' with
--bidirectional). --predict prints the three likeliest languages of each word,
with the model just trained or, with --resume, the saved one (no training when
--epochs is not after the checkpoint's). A checkpoint's "model" entry is a plain
state_dict that loads into build_model(torch.nn, ...) and back. Two PNGs at the
end: the training curves (--plot) and the test set's confusion matrix
(--confusion). The last line printed is ``test accuracy NN.NN%``.
"""
import argparse
import math
import os
import sys
import time
import unicodedata

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402  (the progress bar)
import runtime  # noqa: E402
import wordlists  # noqa: E402

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAD, UNK = 0, 1  # letter indices; the alphabet's letters are 2, 3, ...
CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
# Restored from a checkpoint by --resume: they define the model and its data.
MODEL_ARGS = ("cell", "embed", "hidden", "layers", "bidirectional", "dropout", "packed",
              "words", "test_words")


# ---------------------------------------------------------------- the model

class Backend:
    """The module namespace and the functional namespace a model is built from."""

    def __init__(self, name, nn, functional):
        self.name, self.nn, self.functional = name, nn, functional


def backend(name):
    """'pykernels' or 'torch' (the developer option --backend torch)."""
    if name == "torch":
        return Backend("torch", torch.nn, torch.nn.functional)
    return Backend("pykernels", pkt.nn, pkt.functional)


def layer(nn, name):
    """nn.<name>, looked up only when a model is built, with a clear message when the
    installed pykernels does not have it."""
    try:
        return getattr(nn, name)
    except AttributeError:
        raise SystemExit(f"{nn.__name__}.{name} is missing: this demo needs pykernels' "
                         f"sequence modules (Embedding, LSTM/GRU/RNN), which pykernels "
                         f"{pykernels.__version__} does not have yet") from None


class LanguageID(torch.nn.Module):
    """Embedding -> LSTM/GRU/RNN -> Linear on the last layer's final hidden state."""

    def __init__(self, nn, vocab, classes, embed, hidden, layers=2, cell="lstm",
                 bidirectional=False, dropout=0.0):
        super().__init__()
        self.directions = 2 if bidirectional else 1
        self.embedding = layer(nn, "Embedding")(vocab, embed, padding_idx=PAD)
        self.rnn = layer(nn, CELLS[cell])(embed, hidden, num_layers=layers, batch_first=True,
                                          bidirectional=bidirectional, dropout=dropout)
        self.classifier = layer(nn, "Linear")(self.directions * hidden, classes)

    def forward(self, letters, lengths=None):
        """letters (N, T) int64; with lengths (N,) on the CPU, right-padded and packed,
        without, left-padded. Returns logits (N, classes)."""
        x = self.embedding(letters)
        if lengths is not None:
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(x)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        last = h_n[-self.directions:]  # (directions, N, hidden): the last layer
        return self.classifier(last.transpose(0, 1).reshape(last.shape[1], -1))


def build_model(nn, config):
    """The model from a module namespace (torch.nn or pykernels.torch.nn) and a config
    dict (vocab, classes, embed, hidden, layers, cell, bidirectional, dropout)."""
    return LanguageID(nn, config["vocab"], config["classes"], config["embed"], config["hidden"],
                      config["layers"], config["cell"], config["bidirectional"],
                      config["dropout"])


# ---------------------------------------------------------------- words as tensors

class Encoded:
    """Words as letter indices: right- and left-padded (n, longest) int64 tensors,
    their lengths and labels; batch(idx) cuts a batch to its longest word."""

    def __init__(self, pairs, alphabet, device):
        index = {c: i + 2 for i, c in enumerate(alphabet)}
        words = [w for w, _ in pairs]
        lengths = np.array([len(w) for w in words], dtype=np.int64)
        width = max(1, int(lengths.max(initial=0)))
        codes = np.fromiter((index.get(c, UNK) for w in words for c in w), dtype=np.int64,
                            count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(words)), lengths)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        position = np.arange(len(codes)) - starts  # each letter's place in its word
        right = np.full((len(words), width), PAD, dtype=np.int64)
        left = np.full((len(words), width), PAD, dtype=np.int64)
        right[rows, position] = codes
        left[rows, position + width - np.repeat(lengths, lengths)] = codes
        self.lengths = torch.from_numpy(lengths)
        self.right = torch.from_numpy(right).to(device)
        self.left = torch.from_numpy(left).to(device)
        self.labels = torch.tensor([label for _, label in pairs], dtype=torch.int64).to(device)
        self.width = width

    def __len__(self):
        return len(self.lengths)

    def batch(self, idx, packed):
        """(letters, lengths or None, labels) of the words idx (a CPU int64 tensor)."""
        lengths = self.lengths[idx]
        longest = int(lengths.max())
        device_idx = idx.to(self.labels.device)
        if packed:
            return self.right[device_idx, :longest], lengths, self.labels[device_idx]
        return self.left[device_idx, self.width - longest:], None, self.labels[device_idx]


def config_of(args, alphabet, languages):
    return {"vocab": len(alphabet) + 2, "classes": len(languages), "embed": args.embed,
            "hidden": args.hidden, "layers": args.layers, "cell": args.cell,
            "bidirectional": args.bidirectional, "dropout": args.dropout}


# ---------------------------------------------------------------- training

def lr_factor(step, total, warmup):
    """Linear warm-up over `warmup` steps, then a cosine decay to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def evaluate(model, bk, data, packed, batch_size=1000):
    """(mean loss, accuracy in percent, predicted labels) on an encoded set."""
    model.eval()
    total_loss, predictions = 0.0, []
    with torch.inference_mode():
        for i in range(0, len(data), batch_size):
            idx = torch.arange(i, min(i + batch_size, len(data)))
            letters, lengths, target = data.batch(idx, packed)
            logits = model(letters, lengths)
            total_loss += bk.functional.cross_entropy(logits, target).item() * len(idx)
            predictions.append(logits.argmax(1).cpu())
    predicted = torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.int64)
    n = max(1, len(data))
    correct = (predicted == data.labels.cpu()).sum().item()
    return total_loss / n, 100.0 * correct / n, predicted


def train(bk, train_set, test_set, config, args, ckpt=None, save=None):
    """Train build_model(bk.nn, config) from args.seed, or continue from ckpt (a loaded
    checkpoint). Returns (model, history)."""
    torch.manual_seed(args.seed)
    model = build_model(bk.nn, config).to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(train_set) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup = min(args.warmup, total_steps // 10) if args.schedule == "cosine" else 0
    if args.schedule == "cosine":
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: lr_factor(step, total_steps, max(1, warmup)))
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    order_gen = torch.Generator().manual_seed(args.seed)
    history = {"epoch": [], "train_loss": [], "test_loss": [], "test_accuracy": [],
               "seconds": []}
    first_epoch = 1
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        order_gen.set_state(ckpt["order_generator"])
        history = ckpt["history"]
        first_epoch = ckpt["epoch"] + 1
        print(f"[{bk.name}] resumed from {args.resume} after epoch {ckpt['epoch']}")

    for epoch in range(first_epoch, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_set), generator=order_gen)
        bar = fashion_mnist.ProgressBar(len(train_set), f"[{bk.name}] epoch {epoch}/{args.epochs}",
                                        unit="words")
        start, total_loss, seen = time.perf_counter(), 0.0, 0
        for i in range(0, len(train_set), args.batch_size):
            idx = order[i:i + args.batch_size]
            letters, lengths, target = train_set.batch(idx, args.packed)
            loss = bk.functional.cross_entropy(model(letters, lengths), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
            seen += len(idx)
            bar.update(len(idx), loss=total_loss / seen)
        seconds = time.perf_counter() - start
        test_loss, acc, _ = evaluate(model, bk, test_set, args.packed)
        for key, value in zip(history, (epoch, total_loss / seen, test_loss, acc, seconds)):
            history[key].append(value)
        print(f"[{bk.name}] epoch {epoch}: train loss {total_loss / seen:.4f}  test loss "
              f"{test_loss:.4f}  test accuracy {acc:.2f}%  ({seconds:.2f} s)", flush=True)
        if save:
            save(model, opt, sched, order_gen, epoch, history)
    if not history["epoch"]:
        raise SystemExit(f"nothing to train: --epochs {args.epochs} is not after the "
                         f"checkpoint's epoch {first_epoch - 1}")
    return model, history


def checkpoint_writer(path, args, alphabet, languages, config):
    """save(...) for train(): everything needed to resume or predict."""
    def save(model, opt, sched, order_gen, epoch, history):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "order_generator": order_gen.get_state(),
                    "epoch": epoch, "history": history, "args": vars(args),
                    "alphabet": alphabet, "languages": languages, "config": config}, path)
    return save


# ---------------------------------------------------------------- outputs

def predict(model, words, alphabet, languages, packed, device, top=3):
    """For each word, a line with the `top` likeliest languages and their probabilities."""
    model.eval()
    allowed = set(alphabet)
    for word in words:
        w = unicodedata.normalize("NFC", word).lower()
        data = Encoded([(w, 0)], alphabet, device)
        with torch.inference_mode():
            letters, lengths, _ = data.batch(torch.arange(1), packed)
            probs = torch.softmax(model(letters, lengths).float(), dim=1)[0].cpu()
        values, indices = probs.topk(min(top, len(languages)))
        guesses = ", ".join(f"{languages[i]} {100 * v:.1f}%"
                            for v, i in zip(values.tolist(), indices.tolist()))
        unknown = "".join(sorted(set(w) - allowed))
        note = f"  (letters not in the alphabet: {unknown})" if unknown else ""
        print(f"{word}: {guesses}{note}")


def plot_confusion(path, predicted, labels, languages, title):
    """The test set's confusion matrix (rows: true language, in % of its words)."""
    plt = runtime.pyplot()
    if plt is None:
        return
    k = len(languages)
    counts = torch.zeros(k, k, dtype=torch.float64)
    counts.index_put_((labels, predicted), torch.ones(len(labels), dtype=torch.float64),
                      accumulate=True)
    percent = (100 * counts / counts.sum(1, keepdim=True).clamp(min=1)).numpy()
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    for i in range(k):
        for j in range(k):
            if percent[i, j] >= 0.5:
                ax.text(j, i, f"{percent[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if percent[i, j] > 50 else "black")
    ax.set_xticks(range(k), languages, rotation=45, ha="right")
    ax.set_yticks(range(k), languages)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(image, ax=ax, label="% of the true language's test words")
    fig.tight_layout()
    runtime.save_figure(plt, fig, path, "confusion matrix")


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=wordlists.DEFAULT_DIR,
                   help="directory of the word lists (Debian's file names)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--words", type=int, default=30000, help="training words per language")
    p.add_argument("--test-words", type=int, default=2000, help="test words per language")
    p.add_argument("--cell", default="lstm", choices=sorted(CELLS))
    p.add_argument("--embed", type=int, default=32, help="embedding size")
    p.add_argument("--hidden", type=int, default=128, help="hidden size of each layer")
    p.add_argument("--layers", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout between the layers")
    p.add_argument("--packed", action="store_true",
                   help="pack words by their true lengths instead of padding them")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's peak learning rate")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"],
                   help="cosine: linear warm-up then cosine decay to 0 over all epochs")
    p.add_argument("--warmup", type=int, default=200, help="warm-up steps (cosine)")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch and pykernels")
    p.add_argument("--save", metavar="PATH", help="write a checkpoint after every epoch")
    p.add_argument("--resume", metavar="PATH", help="continue from (or predict with) a checkpoint")
    p.add_argument("--predict", nargs="+", metavar="WORD",
                   help="print the three likeliest languages of each word")
    p.add_argument("--plot", metavar="PNG", default=os.path.join(ROOT, "runs", "language_id.png"),
                   help="where to draw the training curves ('' = no plot)")
    p.add_argument("--confusion", metavar="PNG",
                   default=os.path.join(ROOT, "runs", "language_id_confusion.png"),
                   help="where to draw the test confusion matrix ('' = none)")
    p.add_argument("--compare", action="store_true", help="also train the identical torch.nn model")
    # Developer option: the main run on torch.nn modules (for tuning without pykernels').
    p.add_argument("--backend", default="pykernels", choices=["pykernels", "torch"],
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    runtime.setup(args.device, args.threads)
    bk = backend(args.backend)
    ckpt = None
    if args.resume:
        ckpt = torch.load(args.resume, map_location=args.device, weights_only=False)
        for key in MODEL_ARGS:
            setattr(args, key, ckpt["args"][key])

    if ckpt is not None and args.predict and args.epochs <= ckpt["epoch"]:
        # Only predict, with the saved model: no data needed.
        model = build_model(bk.nn, ckpt["config"]).to(args.device)
        model.load_state_dict(ckpt["model"])
        print(f"[{bk.name}] model of {args.resume} (epoch {ckpt['epoch']})")
        predict(model, args.predict, ckpt["alphabet"], ckpt["languages"], args.packed, args.device)
        print(f"test accuracy {ckpt['history']['test_accuracy'][-1]:.2f}%")
        return 0

    start = time.perf_counter()
    try:
        data = wordlists.build(args.data, args.words, args.test_words)
    except FileNotFoundError as e:
        raise SystemExit(str(e)) from None
    alphabet = ckpt["alphabet"] if ckpt is not None else data.alphabet
    languages = data.names
    per_language = len(data.train) // len(languages)
    print(f"{len(languages)} languages x {per_language} train / {args.test_words} test words "
          f"from {args.data} ({time.perf_counter() - start:.1f} s); alphabet of "
          f"{len(alphabet)} letters: {alphabet}")
    if per_language < args.words:
        print(f"(the smallest list has only {per_language + args.test_words} usable words)")
    print(f"pykernels {pykernels.__version__} on {args.device}; model: Embedding({len(alphabet) + 2}, "
          f"{args.embed}) -> {CELLS[args.cell]}({args.embed}, {args.hidden}, num_layers="
          f"{args.layers}{', bidirectional' if args.bidirectional else ''}"
          f"{f', dropout={args.dropout}' if args.dropout else ''}) -> Linear; "
          f"{'packed' if args.packed else 'left-padded'} words")
    train_set = Encoded(data.train, alphabet, args.device)
    test_set = Encoded(data.test, alphabet, args.device)
    config = config_of(args, alphabet, languages)

    save = checkpoint_writer(args.save, args, alphabet, languages, config) if args.save else None
    model, ours = train(bk, train_set, test_set, config, args, ckpt, save)
    histories = {bk.name: ours}
    if args.compare:
        args_twin = argparse.Namespace(**vars(args))
        args_twin.resume = None
        _, theirs = train(backend("torch"), train_set, test_set, config, args_twin)
        histories["torch.nn" if bk.name == "torch" else "torch"] = theirs

    if args.plot:
        runtime.plot_curves(args.plot, histories, "Language of a word")
    _, acc, predicted = evaluate(model, bk, test_set, args.packed)
    if args.confusion:
        plot_confusion(args.confusion, predicted, test_set.labels.cpu(), languages,
                       f"{CELLS[args.cell]} ({bk.name}): test accuracy {acc:.2f}%")
    if args.predict:
        predict(model, args.predict, alphabet, languages, args.packed, args.device)
    if args.compare:
        runtime.print_comparison(ours, theirs, bk.name)
    print(f"test accuracy {acc:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
