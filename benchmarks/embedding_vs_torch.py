"""pykernels' embedding vs torch.nn.functional.embedding, in one process, interleaved.

Default shapes: indices (64, 32) int64 (2048 lookups, uniform over the rows, so some
repeat) into a (50000, 256) float32 weight; --threads 2 for both libraries. Cases:

    fwd          y = embedding(indices, weight) under no_grad
    fwd+bwd      torch.autograd.grad(embedding(indices, weight), weight, g): the dense
                 (V, D) gradient is allocated and written whole on every call, by both
    fwd+bwd pad  the same with padding_idx=0 and scale_grad_by_freq=True
    fwd max_norm embedding(..., max_norm=1.0) under no_grad (renorm in place + lookup;
                 weight is re-drawn before every call: a renormed row stays renormed)

ours = pykernels.torch.functional.embedding, theirs = torch.nn.functional.embedding.
Each pair alternates, timed over batches, for --rounds rounds; the table shows medians
and the ratio ours / torch (below 1 = faster than torch). The CPU model and the load
average are printed: on a loaded 2-core machine the figures mean little.

    python benchmarks/embedding_vs_torch.py [--threads 2] [--rounds 9] [--rows 50000]
        [--dim 256] [--batch 64x32] [--json out.json]
"""
import argparse
import json
import os

import torch

from bench import cpu_model  # noqa: E402  (this directory: one copy of each helper)
from spmm_vs_torch import compare  # noqa: E402

import pykernels
import pykernels.torch.functional as KF

TF = torch.nn.functional


def cases(rows, dim, batch):
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(rows, dim, generator=g).requires_grad_()
    idx = torch.randint(0, rows, batch, generator=g)
    gy = torch.randn(*batch, dim, generator=g)

    def fwd(F):
        def f():
            with torch.no_grad():
                return F.embedding(idx, weight)
        return f

    def fwd_bwd(F, **kw):
        return lambda: torch.autograd.grad(F.embedding(idx, weight, **kw), weight, gy)

    plain = weight.detach().clone()

    def fwd_max_norm(F):
        w = plain.clone()

        def f():
            w.copy_(plain)  # both pay the same copy
            with torch.no_grad():
                return F.embedding(idx, w, max_norm=1.0)
        return f

    yield "fwd", fwd(KF), fwd(TF)
    yield "fwd+bwd", fwd_bwd(KF), fwd_bwd(TF)
    yield "fwd+bwd pad", fwd_bwd(KF, padding_idx=0, scale_grad_by_freq=True), \
        fwd_bwd(TF, padding_idx=0, scale_grad_by_freq=True)
    yield "fwd max_norm", fwd_max_norm(KF), fwd_max_norm(TF)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--rows", type=int, default=50000)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--batch", default="64x32", help="indices shape, e.g. 64x32")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pykernels.set_num_threads(args.threads)
    batch = tuple(int(s) for s in args.batch.split("x"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"embedding: indices {args.batch} int64 into ({args.rows}, {args.dim}) float32, "
          f"{args.threads} threads, {cpu_model()}, load average {load}")
    print(f"{'case':<14} {'ours':>10} {'torch':>10} {'ours/torch':>10}")
    results = []
    for name, ours, theirs in cases(args.rows, args.dim, batch):
        a, b = compare(ours, theirs, args.rounds)
        results.append(dict(case=name, ours_s=a, torch_s=b, ratio=a / b))
        print(f"{name:<14} {a * 1e3:>8.3f}ms {b * 1e3:>8.3f}ms {a / b:>10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=cpu_model(), threads=args.threads, load=load, results=results), f,
                      indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
