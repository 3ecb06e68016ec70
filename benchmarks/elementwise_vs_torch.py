"""Element-wise ops vs torch: every op registered as element-wise in
pykernels.torch (the scaffold's ops, e.g. softplus) against the torch function
it mirrors, forward and backward, float32, contiguous, several sizes.

    make bench-op OP=softplus                       # one op, against the build tree
    python benchmarks/elementwise_vs_torch.py [--op softplus] [--sizes 4096,4194304]
        [--threads 2] [--reps 31]

Both sides run through torch tensors: forward = the functional call (output
allocated by each library), backward = torch.autograd.grad on a kept graph (the
same autograd overhead on both sides). Interleaved (one pykernels call, then one
torch call), median and min over --reps. Ratio = pykernels / torch: below 1 is
faster. Ops without a torch counterpart are timed alone.
"""
import argparse
import platform
import statistics
import subprocess
import time

import torch

from pykernels.torch import _registry
from pykernels.torch import functional as F


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timed(fk, ft, reps):
    for f in (fk, ft):
        if f:
            f(), f()  # warm up
    tk, tt = [], []
    for _ in range(reps):
        t0 = time.perf_counter(); fk(); t1 = time.perf_counter()
        if ft:
            ft()
        t2 = time.perf_counter()
        tk.append(t1 - t0), tt.append(t2 - t1)
    return tk, tt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--op", default=None, help="one op (default: every registered element-wise op)")
    ap.add_argument("--sizes", default="4096,262144,4194304,16777216")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=31)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import pykernels
    pykernels.set_num_threads(a.threads)
    ops = {n: e for n, e in _registry.entries.items() if e.elementwise is not None}
    if a.op:
        if a.op not in ops:
            raise SystemExit(f"no element-wise op {a.op!r} (registered: {', '.join(sorted(ops)) or 'none'})")
        ops = {a.op: ops[a.op]}
    import os
    load = os.getloadavg()[0]
    print(f"{cpu_name()}, {a.threads} threads, float32 contiguous, median (min) of {a.reps} interleaved runs; "
          f"load average {load:.2f} on {os.cpu_count()} CPUs")
    if load > 0.5 * (os.cpu_count() or 1):
        print(f"WARNING: the machine is busy (load {load:.2f}): other processes share the cores, so "
              "these times are unreliable; rerun when it is idle")
    print(f"{'op':<22}{'n':>10}{'pykernels us':>22}{'torch us':>22}{'ratio':>14}")
    for name, entry in ops.items():
        spec = entry.elementwise
        params = tuple(spec.params.values())
        ours = getattr(F, name)
        theirs = spec.torch_functional
        for n in (int(s) for s in a.sizes.split(",")):
            g = torch.Generator().manual_seed(0)
            x = (torch.rand(n, generator=g) * 8 - 4).requires_grad_()
            gy = torch.randn(n, generator=g)
            rows = [("fwd", lambda: ours(x.detach(), *params),
                     theirs and (lambda: theirs(x.detach(), *params)))]
            yk = ours(x, *params)
            yt = theirs(x, *params) if theirs else None
            rows.append(("bwd", lambda: torch.autograd.grad(yk, x, gy, retain_graph=True),
                         theirs and (lambda: torch.autograd.grad(yt, x, gy, retain_graph=True))))
            for direction, fk, ft in rows:
                tk, tt = timed(fk, ft, a.reps)
                mk, nk = statistics.median(tk) * 1e6, min(tk) * 1e6
                line = f"{name + ' ' + direction:<22}{n:>10}{mk:>12.1f} ({nk:>7.1f})"
                if ft:
                    mt, nt = statistics.median(tt) * 1e6, min(tt) * 1e6
                    line += f"{mt:>12.1f} ({nt:>7.1f}){mk / mt:>8.2f} ({nk / nt:.2f})"
                print(line)


if __name__ == "__main__":
    main()
