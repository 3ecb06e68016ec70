"""Conv2d and Linear forward+backward, pykernels vs torch, on the issue-5 target shapes.

Ours and torch's calls alternate call by call in one process (at least --rounds pairs,
more for fast cases: about rounds * batch-ms of torch time); the table shows the median
and the 10th percentile of the per-call times and the ratios ours / torch (below 1 =
faster than torch). Same CPU thread count for both.

    python benchmarks/conv_linear_vs_torch.py [--threads 2] [--rounds 15] [--only conv1,mlp1]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as TF

import pykernels
import pykernels.torch.functional as KF


def timed(fn, reps):
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def compare(ours, theirs, rounds, batch_s):
    """Per-call seconds of ours and theirs, alternating call by call: (median ours, median
    theirs, 10th-percentile ours, 10th-percentile theirs). On a loaded machine the low
    percentile is the better estimate of the undisturbed time."""
    for _ in range(3):
        ours(), theirs()
    n = max(rounds, int(batch_s * rounds / max(timed(theirs, 3), 1e-6)))
    a, b = [], []
    for _ in range(n):
        a.append(timed(ours, 1))
        b.append(timed(theirs, 1))
    a.sort(), b.sort()
    return statistics.median(a), statistics.median(b), a[len(a) // 10], b[len(b) // 10]


def fwd_bwd(layer, F, gy, leaves):
    def step():
        for t in leaves:
            t.grad = None
        layer(F).backward(gy)
    return step


def cases():
    g = torch.Generator().manual_seed(0)

    def rand(*shape, grad=True):
        return torch.randn(*shape, generator=g).requires_grad_(grad)

    convs = [  # name, x shape, x needs grad, w shape, padding, bias
        ("conv1", "LeNet conv1 64x1x28x28 5x5 p2", (64, 1, 28, 28), False, (6, 1, 5, 5), 2, True),
        ("conv2", "LeNet conv2 64x6x14x14 5x5", (64, 6, 14, 14), True, (16, 6, 5, 5), 0, True),
        ("res64", "ResNet 32x64x56x56 3x3 p1", (32, 64, 56, 56), True, (64, 64, 3, 3), 1, False),
        ("res128", "ResNet 32x128x28x28 3x3 p1", (32, 128, 28, 28), True, (128, 128, 3, 3), 1,
         False),
    ]
    for key, desc, xs, xg, ws, pad, has_b in convs:
        x, w = rand(*xs, grad=xg), rand(*ws)
        b = rand(ws[0]) if has_b else None
        leaves = [t for t in (x, w, b) if t is not None]

        def layer(F, x=x, w=w, b=b, pad=pad):
            return F.conv2d(x, w, b, padding=pad)
        gy = torch.randn_like(layer(TF).detach())
        yield key, "conv2d fwd+bwd " + desc, fwd_bwd(layer, KF, gy, leaves), fwd_bwd(
            layer, TF, gy, leaves)
    for key, (n, fin, fout) in [("mlp1", (32, 784, 128)), ("mlp2", (32, 128, 64)),
                                ("mlp3", (32, 64, 10)), ("wide", (256, 1024, 1024))]:
        x, w, b = rand(n, fin), rand(fout, fin), rand(fout)

        def layer(F, x=x, w=w, b=b):
            return F.linear(x, w, b)
        gy = torch.randn(n, fout, generator=g)
        yield key, f"linear fwd+bwd {n}x{fin}->{fout}", fwd_bwd(layer, KF, gy, [x, w, b]), fwd_bwd(
            layer, TF, gy, [x, w, b])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--batch-ms", type=float, default=30)
    p.add_argument("--only", default="", help="comma-separated keys (conv1,conv2,res64,res128,"
                   "mlp1,mlp2,mlp3,wide)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pykernels.set_num_threads(args.threads)
    only = set(filter(None, args.only.split(",")))
    print(f"threads={args.threads}  torch {torch.__version__}  rounds={args.rounds}")
    header = (f"{'case':<48}{'ours med':>10}{'torch med':>10}{'ratio':>7}"
              f"{'ours p10':>10}{'torch p10':>10}{'ratio':>7}")
    print(header)
    print("-" * len(header))
    for key, desc, ours, theirs in cases():
        if only and key not in only:
            continue
        a, b, a10, b10 = compare(ours, theirs, args.rounds, args.batch_ms / 1e3)
        print(f"{desc:<48}{a * 1e6:8.0f}us{b * 1e6:8.0f}us{a / b:7.2f}"
              f"{a10 * 1e6:8.0f}us{b10 * 1e6:8.0f}us{a10 / b10:7.2f}", flush=True)


if __name__ == "__main__":
    main()
