"""pykernels vs torch on identical inputs, in one process, interleaved.

For each case, the pykernels call and the torch call alternate, each timed
over a batch of repetitions, until `--rounds` rounds have run; the table shows
the median time per call of each and the ratio ours / torch (below 1 = faster
than torch). Both use the same number of CPU threads.

    python benchmarks/compare_torch.py [--threads 2] [--rounds 15] [--json out.json]
"""
import argparse
import json
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


def compare(ours, theirs, rounds, min_batch_s=0.05):
    """Median seconds per call of `ours` and `theirs`, measured alternately."""
    ours(), theirs()  # warm-up (loads OpenBLAS, allocator caches)
    reps = 1
    while timed(theirs, reps) * reps < min_batch_s and reps < 1 << 16:
        reps *= 2
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(ours, reps))
        b.append(timed(theirs, reps))
    return statistics.median(a), statistics.median(b)


def linear_step(F, x, w, b):
    """Forward + backward of a Linear layer: dx, dw, db."""
    def step():
        x.grad = w.grad = b.grad = None
        F.linear(x, w, b).sum().backward()
    return step


def fwd_bwd(layer, F, *leaves):
    """Forward + backward of layer(F) with a fixed grad_output; clears the leaves' grads."""
    gy = torch.randn_like(layer(TF).detach())

    def step():
        for t in leaves:
            t.grad = None
        layer(F).backward(gy)
    return step


def cases():
    g = torch.Generator().manual_seed(0)

    def rand(*shape, grad=True):
        return torch.randn(*shape, generator=g).requires_grad_(grad)

    for n, fin, fout in [(256, 1024, 1024), (32, 784, 128), (32, 128, 64)]:
        x, w, b = rand(n, fin), rand(fout, fin), rand(fout)
        yield ("linear fwd+bwd", f"{n}x{fin}->{fout}", linear_step(KF, x, w, b), linear_step(TF, x, w, b))
        with torch.no_grad():
            yield ("linear fwd", f"{n}x{fin}->{fout}",
                   lambda x=x, w=w, b=b: KF.linear(x, w, b), lambda x=x, w=w, b=b: TF.linear(x, w, b))
    x = rand(1 << 22, grad=False)
    yield ("relu fwd", "4M", lambda: KF.relu(x), lambda: TF.relu(x))
    xg = rand(1 << 22)
    dy = torch.randn(1 << 22, generator=g)
    yield ("relu fwd+bwd", "4M", lambda: KF.relu(xg).backward(dy), lambda: TF.relu(xg).backward(dy))
    one = rand(1)
    yield ("relu fwd+bwd", "1 (overhead)", lambda: KF.relu(one).sum().backward(),
           lambda: TF.relu(one).sum().backward())
    a, t = rand(1 << 22), torch.randn(1 << 22, generator=g)
    yield ("mse_loss fwd+bwd", "4M mean", lambda: KF.mse_loss(a, t).backward(),
           lambda: TF.mse_loss(a, t).backward())

    # LeNet-5's layers at batch 64 (conv1's input needs no gradient: it is the image).
    for name, x, w, pad in [("conv1", rand(64, 1, 28, 28, grad=False), rand(6, 1, 5, 5), 2),
                            ("conv2", rand(64, 6, 14, 14), rand(16, 6, 5, 5), 0)]:
        b = rand(w.shape[0])
        yield (f"conv2d fwd+bwd", f"LeNet {name} {tuple(x.shape[1:])}",
               fwd_bwd(lambda F, x=x, w=w, b=b, pad=pad: F.conv2d(x, w, b, padding=pad), KF, x, w, b),
               fwd_bwd(lambda F, x=x, w=w, b=b, pad=pad: F.conv2d(x, w, b, padding=pad), TF, x, w, b))
    for shape in [(64, 6, 28, 28), (64, 16, 10, 10)]:
        x = rand(*shape)
        yield ("max_pool2d fwd+bwd", "x".join(map(str, shape[1:])),
               fwd_bwd(lambda F, x=x: F.max_pool2d(x, 2), KF, x),
               fwd_bwd(lambda F, x=x: F.max_pool2d(x, 2), TF, x))
    x = rand(1 << 20)
    for act in ["sigmoid", "tanh", "gelu"]:
        yield (f"{act} fwd+bwd", "1M", fwd_bwd(lambda F, act=act: getattr(F, act)(x), KF, x),
               fwd_bwd(lambda F, act=act: getattr(F, act)(x), TF, x))
    x = rand(4096, 1000)
    yield ("log_softmax fwd+bwd", "4096x1000", fwd_bwd(lambda F: F.log_softmax(x, 1), KF, x),
           fwd_bwd(lambda F: F.log_softmax(x, 1), TF, x))
    labels = torch.randint(0, 1000, (4096,), generator=g)
    yield ("cross_entropy fwd+bwd", "4096x1000",
           fwd_bwd(lambda F: F.cross_entropy(x, labels), KF, x),
           fwd_bwd(lambda F: F.cross_entropy(x, labels), TF, x))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--json", default="")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pykernels.set_num_threads(args.threads)
    print(f"threads={args.threads}  torch {torch.__version__}  pykernels {pykernels.__version__}")
    print(f"BLAS: {pykernels.blas_info()}\n")
    header = f"{'op':<22}{'shape':<22}{'pykernels':>12}{'torch':>12}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    rows = []
    for op, shape, ours, theirs in cases():
        t_ours, t_torch = compare(ours, theirs, args.rounds)
        rows.append(dict(op=op, shape=shape, ours_s=t_ours, torch_s=t_torch, ratio=t_ours / t_torch))
        print(f"{op:<22}{shape:<22}{t_ours * 1e6:10.1f}us{t_torch * 1e6:10.1f}us{t_ours / t_torch:8.2f}",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(threads=args.threads, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
