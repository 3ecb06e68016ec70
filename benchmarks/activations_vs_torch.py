"""Float32 CPU activations, pykernels (NumPy API) vs torch, 1M contiguous elements.

Forward and backward of sigmoid, tanh, gelu (none / tanh) and leaky_relu, both
libraries on the same number of threads, interleaved (one pykernels call, then
one torch call, repeated), median (and min, less sensitive to a loaded
machine) over --reps runs, outputs preallocated. This times the NumPy path
without autograd; the torch-level comparison of the same ops (forward, backward,
16M elements) is part of benchmarks/bench.py (`make bench`).

    python benchmarks/activations_vs_torch.py \
        [--n 1000000] [--threads 2] [--reps 41]
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import pykernels as pk


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=41)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    nt = a.threads

    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, a.n).astype(np.float32)
    dy = rng.standard_normal(a.n).astype(np.float32)
    out = np.empty_like(x)
    tx, tdy, tout = torch.from_numpy(x), torch.from_numpy(dy), torch.empty(a.n)
    y_sig, y_tanh = pk.sigmoid(x), pk.tanh(x)
    ty_sig, ty_tanh = torch.from_numpy(y_sig), torch.from_numpy(y_tanh)
    bw = torch.ops.aten

    cases = [
        ("sigmoid fwd", lambda: pk.sigmoid(x, out=out, num_threads=nt),
         lambda: torch.sigmoid(tx, out=tout)),
        ("sigmoid bwd", lambda: pk.sigmoid_backward(dy, y_sig, out=out, num_threads=nt),
         lambda: bw.sigmoid_backward.grad_input(tdy, ty_sig, grad_input=tout)),
        ("tanh fwd", lambda: pk.tanh(x, out=out, num_threads=nt),
         lambda: torch.tanh(tx, out=tout)),
        ("tanh bwd", lambda: pk.tanh_backward(dy, y_tanh, out=out, num_threads=nt),
         lambda: bw.tanh_backward.grad_input(tdy, ty_tanh, grad_input=tout)),
        ("gelu(none) fwd", lambda: pk.gelu(x, "none", out=out, num_threads=nt),
         lambda: bw.gelu.out(tx, approximate="none", out=tout)),
        ("gelu(none) bwd", lambda: pk.gelu_backward(dy, x, "none", out=out, num_threads=nt),
         lambda: bw.gelu_backward.grad_input(tdy, tx, approximate="none", grad_input=tout)),
        ("gelu(tanh) fwd", lambda: pk.gelu(x, "tanh", out=out, num_threads=nt),
         lambda: bw.gelu.out(tx, approximate="tanh", out=tout)),
        ("gelu(tanh) bwd", lambda: pk.gelu_backward(dy, x, "tanh", out=out, num_threads=nt),
         lambda: bw.gelu_backward.grad_input(tdy, tx, approximate="tanh", grad_input=tout)),
        ("leaky_relu fwd", lambda: pk.leaky_relu(x, 0.01, out=out, num_threads=nt),
         lambda: bw.leaky_relu.out(tx, 0.01, out=tout)),
        ("leaky_relu bwd", lambda: pk.leaky_relu_backward(dy, x, 0.01, out=out, num_threads=nt),
         lambda: bw.leaky_relu_backward.grad_input(tdy, tx, 0.01, False, grad_input=tout)),
    ]
    print(f"float32, n={a.n}, threads={nt}, median of {a.reps} interleaved runs")
    print(f"{'':<16}{'---------- median ----------':>34}{'----------- min ------------':>34}")
    print(f"{'op':<16}" + f"{'pykernels us':>14}{'torch us':>12}{'ratio':>8}" * 2)
    for name, fk, ft in cases:
        for f in (fk, ft):  # warm up
            f()
        tk, tt = [], []
        for _ in range(a.reps):
            t0 = time.perf_counter(); fk(); t1 = time.perf_counter(); ft(); t2 = time.perf_counter()
            tk.append(t1 - t0), tt.append(t2 - t1)
        row = f"{name:<16}"
        for stat in (statistics.median, min):
            mk, mt = stat(tk) * 1e6, stat(tt) * 1e6
            row += f"{mk:>14.1f}{mt:>12.1f}{mk / mt:>8.2f}"
        print(row)


if __name__ == "__main__":
    main()
