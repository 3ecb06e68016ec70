"""Train a two-layer graph convolutional network (Kipf & Welling 2017) with pykernels.

    GraphConv(F, 16) -> ReLU -> dropout 0.5 -> GraphConv(16, classes),
    cross-entropy over the labelled (training) nodes, full-batch Adam (lr 0.01,
    weight decay 5e-4 on the first layer only, as Kipf's gcn code).

Each GraphConv computes  D^-1/2 (A + I) D^-1/2 X W + b  (the symmetric
normalisation, norm='both', over the graph with one self-loop per node). The
layers, ReLU, dropout and the loss are pykernels (our gSpMM, GEMM, activation and
loss kernels, forward and backward); torch supplies tensors, autograd and Adam.
``--compare`` also trains the same model written with torch only (torch.sparse.mm
on the normalised adjacency as a torch CSR tensor), from the same seed and the
same initial weights, the two interleaved epoch by epoch so both see the same
machine load, and prints a table of test accuracy and median seconds per epoch.
Their dropout masks differ (libkernels' Philox stream vs torch's), so their
curves differ a little; with ``--dropout 0`` they agree to float32 rounding.

    python examples/gcn.py                          # Zachary's karate club (34 nodes)
    python examples/gcn.py --synthetic 100000 --compare   # SBM, ~1M edges: timing
    python examples/gcn.py --dataset cora --root DIR      # Planetoid files in DIR
    python examples/gcn.py --device cuda --epochs 400 --lr 0.005 --hidden 32

Planetoid files are not downloaded: DIR must hold ind.cora.{x,y,tx,ty,allx,ally,
graph,test.index} (https://github.com/kimiyoung/planetoid, data/). Their
features are row-normalised, as Kipf's. A line every 10 epochs (loss, train and
val accuracy, s/epoch); s/epoch times one training step (forward, backward, Adam)
and the summary takes the median excluding the first epoch. The last line printed
is ``test accuracy NN.NN%`` (the model after the last epoch).
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graph_data  # noqa: E402
import runtime  # noqa: E402

import pykernels  # noqa: E402
import pykernels.torch as pkt  # noqa: E402


# ---------------------------------------------------------------- the torch-only twin

class TorchGraphConv(torch.nn.Module):
    """GraphConv in plain torch: ``adj @ x @ weight + bias`` with ``adj`` the
    normalised adjacency as a torch sparse CSR tensor (torch.sparse.mm). Same
    parameters as pykernels.torch.nn.GraphConv (weight (in, out), bias (out)), so
    state dicts load both ways; multiplies by the weight first when that makes the
    sparse product narrower, as DGL's GraphConv."""

    def __init__(self, in_feats, out_feats):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(in_feats, out_feats))
        self.bias = torch.nn.Parameter(torch.zeros(out_feats))
        torch.nn.init.xavier_uniform_(self.weight)

    def forward(self, adj, x):
        if self.weight.shape[0] > self.weight.shape[1]:
            h = torch.sparse.mm(adj, x @ self.weight)
        else:
            h = torch.sparse.mm(adj, x) @ self.weight
        return h + self.bias


def normalized_adjacency(src, dst, num_nodes, device="cpu", dtype=torch.float32):
    """D_in^-1/2 (A + I) D_out^-1/2 as a torch sparse CSR tensor (row = destination),
    from the directed edges ``src -> dst`` (int64 tensors) without self-loops.
    Degrees count the added self-loop; for an undirected graph this is Kipf's
    D^-1/2 (A + I) D^-1/2."""
    loops = torch.arange(num_nodes, dtype=torch.int64)
    src, dst = torch.cat([src.cpu(), loops]), torch.cat([dst.cpu(), loops])
    out_deg = torch.bincount(src, minlength=num_nodes).clamp(min=1).to(torch.float64)
    in_deg = torch.bincount(dst, minlength=num_nodes).clamp(min=1).to(torch.float64)
    values = (out_deg[src].rsqrt() * in_deg[dst].rsqrt()).to(dtype)
    adj = torch.sparse_coo_tensor(torch.stack([dst, src]), values, (num_nodes, num_nodes),
                                  check_invariants=False)
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return adj.coalesce().to_sparse_csr().to(device)


# ---------------------------------------------------------------- the model

class GCN(torch.nn.Module):
    """conv(in, hidden) -> relu -> dropout -> conv(hidden, classes).

    ``conv`` is pkt.nn.GraphConv (forward(graph, x)) or TorchGraphConv
    (forward(adj, x)); ``F`` the functional namespace for relu, dropout and
    cross_entropy (pykernels.torch.functional or torch.nn.functional)."""

    def __init__(self, conv, F, in_feats, hidden, num_classes, dropout):
        super().__init__()
        self.conv1 = conv(in_feats, hidden)
        self.conv2 = conv(hidden, num_classes)
        self.F, self.p = F, dropout

    def forward(self, graph, x):
        h = self.F.relu(self.conv1(graph, x))
        h = self.F.dropout(h, self.p, self.training)
        return self.conv2(graph, h)


def build(kind, data, args):
    """(model, graph input) for kind 'pykernels' or 'torch', on args.device."""
    n_in, n_out = data.features.shape[1], data.num_classes
    src, dst = torch.from_numpy(data.src), torch.from_numpy(data.dst)
    if kind == "pykernels":
        conv = lambda i, o: pkt.nn.GraphConv(i, o, norm="both")  # noqa: E731
        model = GCN(conv, pkt.functional, n_in, args.hidden, n_out, args.dropout)
        graph = pkt.Graph.from_edges(src, dst, num_nodes=data.num_nodes).add_self_loops()
        return model.to(args.device), graph.to(args.device)
    model = GCN(TorchGraphConv, torch.nn.functional, n_in, args.hidden, n_out, args.dropout)
    return model.to(args.device), normalized_adjacency(src, dst, data.num_nodes, args.device)


# ---------------------------------------------------------------- training

def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


class Run:
    """One model's training: its own optimiser and its own torch RNG state (dropout
    seeds), so that two runs interleaved epoch by epoch give exactly what each
    would give alone."""

    def __init__(self, name, model, graph, inputs, args):
        self.name, self.model, self.graph, self.args = name, model, graph, args
        self.x, self.y, self.masks = inputs
        self.train_idx = self.masks["train"].nonzero().squeeze(1)
        # Kipf & Welling: L2 regularisation of the first layer only.
        self.opt = torch.optim.Adam([
            {"params": model.conv1.parameters(), "weight_decay": args.weight_decay},
            {"params": model.conv2.parameters(), "weight_decay": 0.0}], lr=args.lr)
        torch.manual_seed(args.seed)
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state() if str(args.device).startswith("cuda") else None
        self.seconds, self.losses = [], []

    def step(self):
        """One full-batch training step; returns the training loss."""
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state(self.cuda_rng)
        self.model.train()
        _sync(self.args.device)
        start = time.perf_counter()
        logits = self.model(self.graph, self.x)
        loss = self.model.F.cross_entropy(logits[self.train_idx], self.y[self.train_idx])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        loss = loss.item()  # synchronises
        _sync(self.args.device)
        self.seconds.append(time.perf_counter() - start)
        self.losses.append(loss)
        self.rng = torch.get_rng_state()
        if self.cuda_rng is not None:
            self.cuda_rng = torch.cuda.get_rng_state()
        return loss

    def evaluate(self):
        """(logits, {split: accuracy in percent or None for an empty split}) in eval mode."""
        self.model.eval()
        with torch.inference_mode():
            logits = self.model(self.graph, self.x)
            pred = logits.argmax(1)
            acc = {}
            for split, mask in self.masks.items():
                count = int(mask.sum())
                acc[split] = (100.0 * (pred[mask] == self.y[mask]).sum().item() / count
                              if count else None)
        return logits, acc

    def median_seconds(self):
        """Median seconds per training step, excluding the first (warm-up) epoch."""
        times = self.seconds[1:] or self.seconds
        return float(np.median(times))


def _pct(value):
    return "-" if value is None else f"{value:.2f}%"


class EpochBar:
    """`epoch 37/200 [#####-----------] pykernels loss 0.4123  torch loss 0.4119`,
    redrawn in place on a terminal (stderr) and erased before each printed line;
    silent in logs, where the per-10-epoch lines suffice."""

    def __init__(self, total, stream=sys.stderr, width=20):
        self.total, self.stream, self.width = total, stream, width
        self.enabled, self.shown = stream.isatty(), 0

    def update(self, epoch, losses):
        if not self.enabled:
            return
        filled = int(round(self.width * epoch / self.total))
        line = (f"epoch {epoch}/{self.total} [{'#' * filled}{'-' * (self.width - filled)}] "
                + "  ".join(f"{name} loss {loss:.4f}" for name, loss in losses.items()))
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown = len(line)

    def clear(self):
        if self.enabled and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


def train(runs, args, every=10):
    """Train the runs for args.epochs, interleaved epoch by epoch; a line per run every
    ``every`` epochs and at the first and last. Returns {name: final accuracies}."""
    bar = EpochBar(args.epochs)
    last_print = {r.name: 0 for r in runs}
    for epoch in range(1, args.epochs + 1):
        losses = {run.name: run.step() for run in runs}
        bar.update(epoch, losses)
        if epoch == 1 or epoch % every == 0 or epoch == args.epochs:
            bar.clear()
            for run in runs:
                _, acc = run.evaluate()
                window = run.seconds[last_print[run.name]:]
                last_print[run.name] = epoch
                print(f"[{run.name}] epoch {epoch:{len(str(args.epochs))}d}/{args.epochs}: "
                      f"loss {losses[run.name]:.4f}  train {_pct(acc['train'])}  "
                      f"val {_pct(acc['val'])}  ({sum(window) / len(window):.4f} s/epoch)",
                      flush=True)
    return {run.name: run.evaluate()[1] for run in runs}


# ---------------------------------------------------------------- data

def load_data(args):
    """The GraphData selected by the arguments (karate club by default)."""
    if args.synthetic:
        return graph_data.stochastic_block_model(args.synthetic, seed=args.seed)
    if args.dataset == "karate":
        return graph_data.karate_club()
    data = graph_data.load_planetoid(args.dataset, args.root)
    rows = data.features.sum(1, keepdims=True)  # row-normalise, as Kipf's preprocess_features
    data.features = np.divide(data.features, rows, out=np.zeros_like(data.features),
                              where=rows != 0)
    return data


def tensors(data, device):
    """(features, labels, {'train'|'val'|'test': bool mask}) as torch tensors on device."""
    masks = {split: torch.from_numpy(getattr(data, f"{split}_mask")).to(device)
             for split in ("train", "val", "test")}
    return (torch.from_numpy(data.features).to(device),
            torch.from_numpy(data.labels).to(device), masks)


def make_runs(data, args, compare):
    """The pykernels run (and the torch run with the same initial weights)."""
    inputs = tensors(data, args.device)
    torch.manual_seed(args.seed)
    model, graph = build("pykernels", data, args)
    runs = [Run("pykernels", model, graph, inputs, args)]
    if compare:
        twin, adj = build("torch", data, args)
        twin.load_state_dict(model.state_dict())
        runs.append(Run("torch", twin, adj, inputs, args))
    return runs


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="karate", choices=["karate", *graph_data.PLANETOID],
                   help="karate club (built in) or a Planetoid dataset from --root")
    p.add_argument("--root", default="data/planetoid",
                   help="directory of the Planetoid ind.* files")
    p.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="a stochastic block model with N nodes and ~10 N edges instead")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="L2 on the first layer")
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="CPU threads for torch and pykernels")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--compare", action="store_true",
                   help="also train the same model written with torch.sparse.mm")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    runtime.setup(args.device, args.threads)
    start = time.perf_counter()
    try:
        data = load_data(args)
    except FileNotFoundError as e:
        raise SystemExit(str(e))
    print(f"{data.summary()} ({time.perf_counter() - start:.2f} s to load)")
    print(f"pykernels {pykernels.__version__} on {args.device}; GCN hidden {args.hidden}, "
          f"dropout {args.dropout}, Adam lr {args.lr}, {args.epochs} epochs")

    runs = make_runs(data, args, args.compare)
    final = train(runs, args)
    ours = final["pykernels"]
    if args.compare:
        print(f"{'model':<28}{'test accuracy':>14}{'s/epoch (median)':>18}")
        labels = {"pykernels": "pykernels nn.GraphConv", "torch": "torch.sparse.mm (CSR)"}
        for run in runs:
            print(f"{labels[run.name]:<28}{_pct(final[run.name]['test']):>14}"
                  f"{run.median_seconds():>18.4f}")
        ratio = runs[0].median_seconds() / runs[1].median_seconds()
        print(f"time ratio pykernels/torch: {ratio:.2f}")
    else:
        print(f"median {runs[0].median_seconds():.4f} s/epoch (training step, excluding epoch 1)")
    print(f"test accuracy {ours['test']:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
