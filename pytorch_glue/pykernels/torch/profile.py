"""Per-operator timing of one training step (LeNet-5, the MLP, the small ResNet),
pykernels against torch.

    python -m pykernels.torch.profile [--batch-size 64] [--threads 2] [--repeat 50]
                                      [--device cpu|cuda] [--model lenet5|mlp|resnet_small]

Builds the model twice from one seed, on pykernels (pykernels.torch.nn) and on
torch (torch.nn), with identical weights, and feeds both the same batch. Each layer (leaf module) is
timed on the input it received in that forward pass (recorded with forward
hooks, so residual networks work too; in-place layers run out of place here),
interleaving the two so that both see the same machine state:

    forward    layer(x) with autograd recording (what a training step runs)
    backward   torch.autograd.grad of that layer's output, for the layer's input
               (when it needs one) and parameters, with a fixed random grad_output

and the whole step (forward, loss, backward; no optimiser). It prints, per
operator and direction, the median time of ours and torch's and the ratio
(ours / torch: below 1 = pykernels is faster). Both sides include the Python and
autograd overhead a real step pays.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable, List, Tuple

import torch

import pykernels

from . import models
from . import nn as pk_nn


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _median_pair(ours: Callable, theirs: Callable, repeat: int, device: str) -> Tuple[float, float]:
    """Median seconds of ours() and theirs(), interleaved, after a warm-up."""
    for _ in range(3):
        ours(), theirs()
    a, b = [], []
    for _ in range(repeat):
        for fn, out in ((ours, a), (theirs, b)):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            out.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def _describe(layer: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> str:
    shape = lambda t: "x".join(map(str, t.shape))  # noqa: E731
    return f"{type(layer).__name__.lower()} {shape(x)} -> {shape(y)}"


def _leaf_inputs(model: torch.nn.Module, x: torch.Tensor):
    """[(leaf module, the input it got)] in call order, from one forward pass of
    ``model`` on ``x``. Each input is a detached copy that requires grad, except the
    network's own input x (a layer on it needs no input gradient), which is passed
    as is."""
    calls = []

    def hook(module, args):
        t = args[0]
        calls.append((module, t if t is x else t.detach().clone().requires_grad_()))

    handles = [m.register_forward_pre_hook(hook) for m in model.modules()
               if next(m.children(), None) is None]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return calls


def profile(model_name: str = "lenet5", batch_size: int = 64, repeat: int = 50,
            device: str = "cpu", seed: int = 0) -> List[Tuple[str, str, float, float]]:
    """Rows (operator, direction, our seconds, torch's seconds) for one training step."""
    builder = getattr(models, model_name)
    torch.manual_seed(seed)
    ours_model = builder(pk_nn).to(device)
    theirs_model = builder(torch.nn).to(device)
    theirs_model.load_state_dict(ours_model.state_dict())
    in_shape = (batch_size, 784) if model_name == "mlp" else (batch_size, 1, 28, 28)
    x = torch.randn(in_shape, device=device)
    labels = torch.randint(0, 10, (batch_size,), device=device)

    rows = []
    for m in list(ours_model.modules()) + list(theirs_model.modules()):
        if getattr(m, "inplace", False):
            m.inplace = False  # timed repeatedly on a leaf that requires grad
    leaves_ours, leaves_theirs = _leaf_inputs(ours_model, x), _leaf_inputs(theirs_model, x.clone())
    for (ours_layer, x_ours), (theirs_layer, x_theirs) in zip(leaves_ours, leaves_theirs):
        needs_input_grad = x_ours.requires_grad
        y_ours, y_theirs = ours_layer(x_ours), theirs_layer(x_theirs)
        name = _describe(theirs_layer, x_ours, y_ours)
        fwd = _median_pair(lambda: ours_layer(x_ours), lambda: theirs_layer(x_theirs), repeat, device)
        rows.append((name, "forward", *fwd))
        wrt_ours = ([x_ours] if needs_input_grad else []) + list(ours_layer.parameters())
        wrt_theirs = ([x_theirs] if needs_input_grad else []) + list(theirs_layer.parameters())
        if wrt_ours and y_ours.requires_grad:
            gy = torch.randn_like(y_ours)
            bwd = _median_pair(
                lambda: torch.autograd.grad(y_ours, wrt_ours, gy, retain_graph=True),
                lambda: torch.autograd.grad(y_theirs, wrt_theirs, gy, retain_graph=True),
                repeat, device)
            rows.append((name, "backward", *bwd))
    with torch.no_grad():
        logits = ours_model(x)
    x_ours = logits.detach().requires_grad_()
    x_theirs = logits.detach().clone().requires_grad_()

    loss_ours, loss_theirs = pk_nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    name = f"cross_entropy {'x'.join(map(str, x_ours.shape))}"
    rows.append((name, "forward", *_median_pair(lambda: loss_ours(x_ours, labels),
                                                 lambda: loss_theirs(x_theirs, labels),
                                                 repeat, device)))
    l_ours, l_theirs = loss_ours(x_ours, labels), loss_theirs(x_theirs, labels)
    rows.append((name, "backward", *_median_pair(
        lambda: torch.autograd.grad(l_ours, [x_ours], retain_graph=True),
        lambda: torch.autograd.grad(l_theirs, [x_theirs], retain_graph=True), repeat, device)))

    def step(model, loss_fn):
        def run():
            loss = loss_fn(model(x), labels)
            torch.autograd.grad(loss, list(model.parameters()))
        return run

    rows.append((f"whole step ({model_name}, batch {batch_size})", "fwd+bwd",
                 *_median_pair(step(ours_model, loss_ours), step(theirs_model, loss_theirs),
                               repeat, device)))
    return rows


def format_table(rows) -> str:
    """The rows as an aligned text table with a ratio column."""
    header = ("operator", "direction", "pykernels us", "torch us", "ratio")
    body = [(op, d, f"{a * 1e6:.1f}", f"{b * 1e6:.1f}", f"{a / b:.2f}") for op, d, a, b in rows]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(5)]
    fmt = lambda r: "  ".join(  # noqa: E731
        (c.ljust(w) if i < 2 else c.rjust(w)) for i, (c, w) in enumerate(zip(r, widths)))
    lines = [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m pykernels.torch.profile",
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lenet5", choices=["lenet5", "mlp", "resnet_small"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=50, help="timed repetitions per call")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pykernels.set_num_threads(args.threads)
    rows = profile(args.model, args.batch_size, args.repeat, args.device)
    print(f"One {args.model} training step, batch {args.batch_size}, {args.device}, "
          f"{args.threads} threads, median of {args.repeat} (ratio = pykernels / torch)")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
