"""Peak memory of one scaled_dot_product_attention forward (and forward+backward):
ours (fused: O(L) scratch per row) against torch's math backend (which materialises
the L x S weights) and torch's default CPU kernel (its own flash kernel).

    python benchmarks/attention_memory.py [--L 4096,8192,16384] [--heads 1] [--E 64]

Each measurement runs in a fresh subprocess: the inputs are allocated and touched,
then the peak resident set size (getrusage ru_maxrss) is read before and after the
call; the difference is what the call itself needed at its peak (outputs included).
The allocator may keep freed pages, so only the growth during the call is counted.
For reference the table prints the size of one float32 L x S matrix per head.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, torch
which, L, H, E, backward = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
torch.set_num_threads(2)
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(1, H, L, E, generator=g) for _ in range(3))
if backward:
    for t in (q, k, v):
        t.requires_grad_()
    dout = torch.randn(1, H, L, E, generator=g)
if which == "ours":
    import pykernels
    import pykernels.torch.functional as KF
    pykernels.set_num_threads(2)
    fn = KF.scaled_dot_product_attention
else:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F
    backend = SDPBackend.MATH if which == "torch-math" else SDPBackend.FLASH_ATTENTION
    def fn(*a, **kw):
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(*a, **kw)
def kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# Warm up on a small problem (library loading, thread pools), then measure.
small = [t[:, :, :64].detach() for t in (q, k, v)]
fn(*small, is_causal=True)
before = kib()
if backward:
    out = fn(q, k, v, is_causal=True)
    torch.autograd.grad(out, (q, k, v), dout)
else:
    with torch.no_grad():
        out = fn(q, k, v, is_causal=True)
after = kib()
print(json.dumps({"peak_growth_mib": (after - before) / 1024}))
"""


def measure(which: str, L: int, H: int, E: int, backward: bool, env: dict) -> float:
    r = subprocess.run([sys.executable, "-c", CHILD, which, str(L), str(H), str(E), "1" if backward else "0"],
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        return float("nan")
    return json.loads(r.stdout.strip().splitlines()[-1])["peak_growth_mib"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--L", default="4096,8192,16384", help="comma-separated L = S values")
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--E", type=int, default=64)
    args = ap.parse_args(argv)
    env = dict(os.environ)
    print(f"peak RSS growth of one causal sdpa call, float32, N=1, H={args.heads}, E={args.E}, 2 threads (MiB)")
    print(f"{'L=S':>6} {'L x S f32':>10} | {'ours fwd':>9} {'torch flash fwd':>15} {'torch math fwd':>14} | "
          f"{'ours fwd+bwd':>12} {'torch flash f+b':>15}")
    for L in (int(x) for x in args.L.split(",")):
        lxs = 4.0 * L * L * args.heads / 2 ** 20
        row = [measure(w, L, args.heads, args.E, False, env) for w in ("ours", "torch-flash", "torch-math")]
        row += [measure(w, L, args.heads, args.E, True, env) for w in ("ours", "torch-flash")]
        print(f"{L:>6} {lxs:>10.0f} | {row[0]:>9.1f} {row[1]:>15.1f} {row[2]:>14.1f} | {row[3]:>12.1f} {row[4]:>15.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
