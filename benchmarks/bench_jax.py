"""pykernels.jax against JAX's own ops (XLA's CPU kernels), in the same process.

    python benchmarks/bench_jax.py [--filter REGEX] [--repeat 30] [--json out.json]

For each case: the jitted forward, and the jitted forward+backward
(``jax.value_and_grad`` of sum(out * g) with respect to the differentiable
inputs), median wall time over --repeat runs after two warm-up runs, ours / JAX
as a ratio. The shapes are bench.py's (the MLP layers and a 1024-wide linear,
LeNet-5's and ResNet-18's 3x3 convolutions, cross-entropy on 4096 x 1000
logits). float32. Name the CPU beside any figure (printed first).
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import pykernels
import pykernels.jax as kj


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def jax_conv2d(x, w, b, padding):
    y = jax.lax.conv_general_dilated(x, w, (1, 1), [(padding, padding)] * 2,
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b[None, :, None, None]


def jax_cross_entropy(logits, labels):
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def cases():
    key = jax.random.key(0)

    def rand(*shape, seed=0):
        return jax.random.normal(jax.random.fold_in(key, seed), shape, jnp.float32)

    for n, fin, fout in [(32, 784, 128), (32, 128, 64), (32, 64, 10), (256, 1024, 1024)]:
        args = (rand(n, fin), rand(fout, fin, seed=1), rand(fout, seed=2))
        yield f"linear {n}x{fin}->{fout}", kj.linear, lambda x, w, b: x @ w.T + b, args, (0, 1, 2)
    for name, n, c, h, o, k, pad, dx in [("LeNet conv1", 64, 1, 28, 6, 5, 2, False),
                                         ("LeNet conv2", 64, 6, 14, 16, 5, 0, True),
                                         ("ResNet 3x3", 32, 64, 56, 64, 3, 1, True),
                                         ("ResNet 3x3", 32, 128, 28, 128, 3, 1, True)]:
        args = (rand(n, c, h, h), rand(o, c, k, k, seed=1), rand(o, seed=2))
        yield (f"conv2d {name} {n}x{c}x{h}x{h} k{k} ->{o}",
               lambda x, w, b, pad=pad: kj.conv2d(x, w, b, padding=pad),
               lambda x, w, b, pad=pad: jax_conv2d(x, w, b, pad), args, ((0, 1, 2) if dx else (1, 2)))
    labels = jax.random.randint(jax.random.fold_in(key, 9), (4096,), 0, 1000)
    yield ("cross_entropy 4096x1000", lambda x, t: kj.cross_entropy(x, t), jax_cross_entropy,
           (rand(4096, 1000), labels), (0,))


def timed(fn, args, repeat):
    for _ in range(2):
        jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--filter", default="")
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--threads", type=int, default=0, help="pykernels threads (0 = library default)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    if args.threads:
        pykernels.set_num_threads(args.threads)
    print(f"CPU: {cpu_name()}; jax {jax.__version__}; pykernels {pykernels.__version__} "
          f"({pykernels.get_num_threads()} threads); BLAS: {pykernels.blas_info()}")
    rows = []
    print(f"{'case':44s} {'fwd ours':>9s} {'fwd jax':>9s} {'ratio':>6s} {'f+b ours':>9s} {'f+b jax':>9s} {'ratio':>6s}")
    for name, ours, theirs, inputs, argnums in cases():
        if args.filter and not re.search(args.filter, name):
            continue
        out = jax.eval_shape(theirs, *inputs)
        g = jax.random.normal(jax.random.key(7), out.shape, out.dtype)

        def loss(f):
            return lambda *a: jnp.sum(f(*a) * g)
        result = {"case": name}
        for who, f in (("ours", ours), ("jax", theirs)):
            result[f"fwd_{who}_ms"] = 1e3 * timed(jax.jit(f), inputs, args.repeat)
            result[f"fwdbwd_{who}_ms"] = 1e3 * timed(jax.jit(jax.value_and_grad(loss(f), argnums)), inputs,
                                                     args.repeat)
        result["fwd_ratio"] = result["fwd_ours_ms"] / result["fwd_jax_ms"]
        result["fwdbwd_ratio"] = result["fwdbwd_ours_ms"] / result["fwdbwd_jax_ms"]
        rows.append(result)
        print(f"{name:44s} {result['fwd_ours_ms']:9.3f} {result['fwd_jax_ms']:9.3f} {result['fwd_ratio']:6.2f} "
              f"{result['fwdbwd_ours_ms']:9.3f} {result['fwdbwd_jax_ms']:9.3f} {result['fwdbwd_ratio']:6.2f}",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_name(), "jax": jax.__version__, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
