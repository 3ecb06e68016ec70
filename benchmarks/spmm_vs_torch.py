"""pykernels' gSpMM vs torch.sparse.mm on a random graph, in one process, interleaved.

Graph: --nodes nodes, --edges random edges (uniform sources and destinations, so some
duplicates), as a sparse CSR adjacency A[dst, src] with float32 values; features x
(nodes, --features). For each reduce (sum, mean, amax) the cases are

    fwd             y = spmm(A, x, reduce) under no_grad
    fwd+bwd x       y.backward(g) with x requiring grad
    fwd+bwd x,A     x and A's values requiring grad (A a leaf: A.grad)
    Graph fwd+bwd x pykernels.torch.functional.gspmm on a Graph (transpose cached)
                    vs the same torch.sparse.mm step

ours = pykernels.torch.functional.spmm (builds A's transpose for x's gradient on every
call) or functional.gspmm; theirs = torch.sparse.mm(A, x, reduce=...). Each pair
alternates, timed over batches, for --rounds rounds; the table shows medians and the
ratio ours / torch (below 1 = faster than torch). Same thread count for both.

    python benchmarks/spmm_vs_torch.py [--threads 2] [--rounds 7] [--json out.json]
"""
import argparse
import json
import statistics
import time
import warnings

import torch

import pykernels
import pykernels.torch.functional as KF
from pykernels.torch import Graph

warnings.filterwarnings("ignore", message=".*[Ss]parse.*")


def timed(fn, reps):
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def compare(ours, theirs, rounds, min_batch_s=0.05):
    """Median seconds per call of `ours` and `theirs`, measured alternately."""
    ours(), theirs()  # warm-up
    reps = 1
    while timed(theirs, reps) * reps < min_batch_s and reps < 1 << 16:
        reps *= 2
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(ours, reps))
        b.append(timed(theirs, reps))
    return statistics.median(a), statistics.median(b)


def make_adj(nodes, edges, gen):
    src = torch.randint(0, nodes, (edges,), generator=gen)
    dst = torch.randint(0, nodes, (edges,), generator=gen)
    order = torch.sort(dst * nodes + src).indices  # canonical CSR order (sorted columns)
    src, dst = src[order], dst[order]
    crow = torch.zeros(nodes + 1, dtype=torch.int64)
    crow[1:] = torch.cumsum(torch.bincount(dst, minlength=nodes), 0)
    values = torch.rand(edges, generator=gen)
    return crow, src, values, Graph(crow, src, nodes)


def cases(args):
    gen = torch.Generator().manual_seed(0)
    n, e, f = args.nodes, args.edges, args.features
    crow, col, values, graph = make_adj(n, e, gen)
    shape = (n, n)
    x = torch.randn(n, f, generator=gen)
    xg = x.clone().requires_grad_()
    gy = torch.randn(n, f, generator=gen)
    adj = torch.sparse_csr_tensor(crow, col, values, shape)
    leaf_ours = torch.sparse_csr_tensor(crow, col, values.clone(), shape).requires_grad_()
    leaf_torch = torch.sparse_csr_tensor(crow, col, values.clone(), shape).requires_grad_()
    dims = f"{n // 1000}k nodes {e / 1e6:g}M edges F={f}"

    def step(fn, *leaves):
        def run():
            for t in leaves:
                t.grad = None
            fn().backward(gy)
        return run

    for reduce in ["sum", "mean", "amax"]:
        yield (f"{reduce} fwd", dims,
               lambda r=reduce: KF.spmm(adj, x, r),
               lambda r=reduce: torch.sparse.mm(adj, x, reduce=r))
        yield (f"{reduce} fwd+bwd x", dims,
               step(lambda r=reduce: KF.spmm(adj, xg, r), xg),
               step(lambda r=reduce: torch.sparse.mm(adj, xg, reduce=r), xg))
        yield (f"{reduce} fwd+bwd x,A", dims,
               step(lambda r=reduce: KF.spmm(leaf_ours, xg, r), xg, leaf_ours),
               step(lambda r=reduce: torch.sparse.mm(leaf_torch, xg, reduce=r), xg, leaf_torch))
        gr = {"amax": "max"}.get(reduce, reduce)
        yield (f"{reduce} Graph fwd+bwd x", dims,
               step(lambda r=gr: KF.gspmm(graph, xg, "u_mul_e", r, values), xg),
               step(lambda r=reduce: torch.sparse.mm(adj, xg, reduce=r), xg))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--edges", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--json", default="")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pykernels.set_num_threads(args.threads)
    print(f"threads={args.threads}  torch {torch.__version__}  pykernels {pykernels.__version__}\n")
    header = f"{'case':<22}{'graph':<34}{'pykernels':>12}{'torch':>12}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    rows = []
    for case, dims, ours, theirs in cases(args):
        with torch.no_grad() if case.endswith(" fwd") else torch.enable_grad():
            t_ours, t_torch = compare(ours, theirs, args.rounds)
        rows.append(dict(case=case, graph=dims, ours_s=t_ours, torch_s=t_torch,
                         ratio=t_ours / t_torch))
        print(f"{case:<22}{dims:<34}{t_ours * 1e3:10.2f}ms{t_torch * 1e3:10.2f}ms"
              f"{t_ours / t_torch:8.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(threads=args.threads, rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()
