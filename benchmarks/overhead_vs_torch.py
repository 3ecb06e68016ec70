"""Issue 5 targets, pykernels.torch.functional vs torch.nn.functional, CPU float32,
in one process, interleaved: call overhead (relu fwd+bwd on 1 element), element-wise
activations fwd+bwd on 16M elements (with the streaming bandwidth they reach), and
softmax / log_softmax / cross_entropy fwd+bwd on (4096, 1000).

Each case alternates a batch of our calls and a batch of torch's for --rounds rounds;
the table gives medians per call (wall clock, and CPU time of this thread for the
1-element case, which a loaded machine disturbs less) and the ratio ours / torch.
Bandwidth = bytes (inputs read + outputs written, forward and backward) / median
time, and as a % of the copy bandwidth measured here (torch's 16M-element copy_).

    PYTHONPATH=build/site python benchmarks/overhead_vs_torch.py [--threads 2]
        [--rounds 15] [--only overhead,elementwise,softmax]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as TF

import pykernels
import pykernels.torch.functional as KF


def timed(fn, reps, clock):
    start = clock()
    for _ in range(reps):
        fn()
    return (clock() - start) / reps


def compare(ours, theirs, rounds, min_batch_s=0.02, clock=time.perf_counter):
    ours(), theirs()
    reps = 1
    while timed(theirs, reps, time.perf_counter) * reps < min_batch_s and reps < 1 << 14:
        reps *= 2
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(ours, reps, clock))
        b.append(timed(theirs, reps, clock))
    return statistics.median(a), statistics.median(b)


def fwd_bwd(make, F, x, gy):
    def step():
        x.grad = None
        make(F).backward(gy)
    return step


def row(name, t_ours, t_torch, extra=""):
    print(f"{name:<34}{t_ours * 1e6:11.1f}us{t_torch * 1e6:11.1f}us{t_ours / t_torch:8.2f}  {extra}",
          flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--n", type=int, default=1 << 24)
    p.add_argument("--only", default="overhead,elementwise,softmax")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    pykernels.set_num_threads(a.threads)
    only = set(a.only.split(","))
    print(f"threads={a.threads} torch {torch.__version__} pykernels {pykernels.__version__}")
    print(f"{'case':<34}{'pykernels':>13}{'torch':>13}{'ratio':>8}")
    g = torch.Generator().manual_seed(0)

    if "overhead" in only:
        one = torch.randn(1, generator=g, requires_grad=True)
        ours = lambda: KF.relu(one).sum().backward()  # noqa: E731
        theirs = lambda: TF.relu(one).sum().backward()  # noqa: E731
        row("relu fwd+bwd 1 elem (wall)", *compare(ours, theirs, a.rounds * 3))
        row("relu fwd+bwd 1 elem (thread CPU)",
            *compare(ours, theirs, a.rounds * 3, clock=time.thread_time))
        with torch.no_grad():
            row("relu fwd no_grad 1 elem (wall)",
                *compare(lambda: KF.relu(one), lambda: TF.relu(one), a.rounds * 3))

    if "elementwise" in only:
        n = a.n
        src = torch.randn(n, generator=g)
        dst = torch.empty(n)
        t_copy = statistics.median(timed(lambda: dst.copy_(src), 3, time.perf_counter)
                                   for _ in range(a.rounds))
        bw = 8 * n / t_copy
        print(f"{'copy_ (bandwidth reference)':<34}{t_copy * 1e6:11.1f}us  {bw / 1e9:.1f} GB/s")
        x = torch.randn(n, generator=g).requires_grad_()
        gy = torch.randn(n, generator=g)
        # bytes: forward reads x, writes y; backward reads dy and one saved tensor, writes dx
        cases = [("relu", lambda F: F.relu(x), 20), ("sigmoid", lambda F: F.sigmoid(x), 20),
                 ("tanh", lambda F: F.tanh(x), 20),
                 ("gelu none", lambda F: F.gelu(x), 20),
                 ("gelu tanh", lambda F: F.gelu(x, approximate="tanh"), 20),
                 ("leaky_relu", lambda F: F.leaky_relu(x, 0.01), 20),
                 # dropout: mask is 1 byte per element (written, then read)
                 ("dropout p=0.5", lambda F: F.dropout(x, 0.5), 4 + 4 + 1 + 4 + 1 + 4)]
        for name, make, bytes_per in cases:
            t_ours, t_torch = compare(fwd_bwd(make, KF, x, gy), fwd_bwd(make, TF, x, gy), a.rounds)
            gbs = bytes_per * n / t_ours
            row(f"{name} fwd+bwd {n >> 20}M", t_ours, t_torch,
                f"{gbs / 1e9:5.1f} GB/s = {100 * gbs / bw:3.0f}% of copy")

    if "softmax" in only:
        x = torch.randn(4096, 1000, generator=g).requires_grad_()
        gy = torch.randn(4096, 1000, generator=g)
        labels = torch.randint(0, 1000, (4096,), generator=g)
        for name, make, grad in [("softmax", lambda F: F.softmax(x, 1), gy),
                                 ("log_softmax", lambda F: F.log_softmax(x, 1), gy),
                                 ("cross_entropy", lambda F: F.cross_entropy(x, labels),
                                  torch.tensor(1.0))]:
            row(f"{name} fwd+bwd 4096x1000",
                *compare(fwd_bwd(make, KF, x, grad), fwd_bwd(make, TF, x, grad), a.rounds))


if __name__ == "__main__":
    main()
