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
        [--rounds 15] [--only overhead,elementwise,kernels,softmax] [--clock wall|thread]
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


def kernel_bandwidth(a, g):
    """The kernels alone on preallocated outputs (our C kernels through pykernels._C, torch's
    out= ops), interleaved with a torch copy_ of the same size whose bandwidth is the
    reference: bytes = inputs read + outputs written (float32: 4 per element, masks 1)."""
    from pykernels import _C
    from pykernels.torch._glue import descriptor
    n, nt = a.n, a.threads
    x = torch.rand(n, generator=g) * 8 - 4
    dy, out, copy_dst = torch.randn(n, generator=g), torch.empty(n), torch.empty(n)
    mask = torch.empty(n, dtype=torch.bool)
    y_sig, y_tanh = torch.sigmoid(x), torch.tanh(x)
    D = lambda t: descriptor(t, "bench", "t")  # noqa: E731
    dx_, dy_, out_, ys_, yt_, m_ = D(x), D(dy), D(out), D(y_sig), D(y_tanh), D(mask)
    A = torch.ops.aten
    gelu = {"none": _C.GELU_NONE, "tanh": _C.GELU_TANH}
    cases = [
        ("relu fwd", 8, lambda: _C.relu_forward(dx_, out_, num_threads=nt),
         lambda: torch.clamp_min(x, 0, out=out)),
        ("relu bwd", 12, lambda: _C.relu_backward(dy_, dx_, out_, num_threads=nt),
         lambda: A.threshold_backward.grad_input(dy, x, 0, grad_input=out)),
        ("sigmoid fwd", 8, lambda: _C.sigmoid_forward(dx_, out_, num_threads=nt),
         lambda: torch.sigmoid(x, out=out)),
        ("sigmoid bwd", 12, lambda: _C.sigmoid_backward(dy_, ys_, out_, num_threads=nt),
         lambda: A.sigmoid_backward.grad_input(dy, y_sig, grad_input=out)),
        ("tanh fwd", 8, lambda: _C.tanh_forward(dx_, out_, num_threads=nt),
         lambda: torch.tanh(x, out=out)),
        ("tanh bwd", 12, lambda: _C.tanh_backward(dy_, yt_, out_, num_threads=nt),
         lambda: A.tanh_backward.grad_input(dy, y_tanh, grad_input=out)),
    ]
    for ap in ("none", "tanh"):
        cases += [
            (f"gelu {ap} fwd", 8, lambda ap=ap: _C.gelu_forward(gelu[ap], dx_, out_, num_threads=nt),
             lambda ap=ap: A.gelu.out(x, approximate=ap, out=out)),
            (f"gelu {ap} bwd", 12,
             lambda ap=ap: _C.gelu_backward(gelu[ap], dy_, dx_, out_, num_threads=nt),
             lambda ap=ap: A.gelu_backward.grad_input(dy, x, approximate=ap, grad_input=out))]
    cases += [
        ("leaky_relu fwd", 8, lambda: _C.leaky_relu_forward(0.01, dx_, out_, num_threads=nt),
         lambda: A.leaky_relu.out(x, 0.01, out=out)),
        ("leaky_relu bwd", 12,
         lambda: _C.leaky_relu_backward(0.01, False, dy_, dx_, out_, num_threads=nt),
         lambda: A.leaky_relu_backward.grad_input(dy, x, 0.01, False, grad_input=out)),
        ("dropout fwd (y, mask)", 9, lambda: _C.dropout_forward(0.5, 7, dx_, out_, m_, num_threads=nt),
         lambda: A.native_dropout.out(x, 0.5, True, out0=out, out1=mask)),
        ("dropout bwd", 9, lambda: _C.dropout_backward(0.5, dy_, m_, out_, num_threads=nt),
         lambda: A.native_dropout_backward.out(dy, mask, 2.0, out=out)),
    ]
    copy = lambda: copy_dst.copy_(x)  # noqa: E731
    print(f"kernels alone, {n >> 20}M float32, preallocated outputs; % = bandwidth / copy_'s "
          "(measured interleaved)")
    for name, nbytes, ours, theirs in cases:
        ours(), theirs(), copy()
        to, tt, tc = [], [], []
        clock = time.thread_time if a.clock == "thread" else time.perf_counter
        for _ in range(a.rounds):
            for fn, acc in ((ours, to), (theirs, tt), (copy, tc)):
                t0 = clock()
                fn()
                acc.append(clock() - t0)
        t_o, t_t, t_c = statistics.median(to), statistics.median(tt), statistics.median(tc)
        bw_o, bw_c = nbytes * n / t_o, 8 * n / t_c
        row(f"  {name}", t_o, t_t, f"{bw_o / 1e9:5.1f} GB/s = {100 * bw_o / bw_c:3.0f}% of copy "
            f"({bw_c / 1e9:.1f} GB/s); min-based {100 * (nbytes * n / min(to)) / (8 * n / min(tc)):3.0f}%")


def autograd_function_floors():
    """Two minimal relu-like torch.autograd.Functions, applied through the C-level apply
    as pykernels' fast path does: (allocation only, allocation + raw _C kernel calls)."""
    from pykernels import _C

    class Empty(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return torch.empty_like(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return torch.empty_like(g)

    class Kernels(Empty):
        @staticmethod
        def forward(x):
            y = torch.empty_like(x)
            _C.relu_forward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            dx = torch.empty_like(g)
            _C.relu_backward(g, x, dx)
            return dx

    apply = torch._C._FunctionBase.__dict__["apply"]
    return apply.__get__(None, Empty), apply.__get__(None, Kernels)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--n", type=int, default=1 << 24)
    p.add_argument("--only", default="overhead,elementwise,kernels,softmax")
    p.add_argument("--clock", choices=["wall", "thread"], default="wall",
                   help="softmax and kernels cases: wall clock, or this thread's CPU time (with "
                        "--threads 1 the whole work, and a loaded machine disturbs it less)")
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
        # The floor of a Python autograd.Function (what pykernels.torch is built on):
        # one whose forward and backward only allocate, and one that also makes the two
        # raw kernel calls and nothing else (thread CPU time, against torch's relu).
        floor_empty, floor_kernels = autograd_function_floors()
        for name, fn in [("floor: Function, allocation only", floor_empty),
                         ("floor: Function + raw kernel calls", floor_kernels)]:
            step = lambda fn=fn: fn(one).sum().backward()  # noqa: E731
            row(name, *compare(step, theirs, a.rounds * 3, clock=time.thread_time))

    if "elementwise" in only:
        n = a.n
        # Through functional, forward + backward (both libraries allocate y and dx:
        # on fresh 64 MB outputs the page faults dominate, for both).
        x = torch.randn(n, generator=g).requires_grad_()
        gy = torch.randn(n, generator=g)
        for name, make in [("relu", lambda F: F.relu(x)), ("sigmoid", lambda F: F.sigmoid(x)),
                           ("tanh", lambda F: F.tanh(x)), ("gelu none", lambda F: F.gelu(x)),
                           ("gelu tanh", lambda F: F.gelu(x, approximate="tanh")),
                           ("leaky_relu", lambda F: F.leaky_relu(x, 0.01)),
                           ("dropout p=0.5", lambda F: F.dropout(x, 0.5))]:
            row(f"{name} fwd+bwd {n >> 20}M functional",
                *compare(fwd_bwd(make, KF, x, gy), fwd_bwd(make, TF, x, gy), a.rounds))

    if "kernels" in only:
        kernel_bandwidth(a, g)
    if "softmax" in only:
        x = torch.randn(4096, 1000, generator=g).requires_grad_()
        gy = torch.randn(4096, 1000, generator=g)
        labels = torch.randint(0, 1000, (4096,), generator=g)
        for name, make, grad in [("softmax", lambda F: F.softmax(x, 1), gy),
                                 ("log_softmax", lambda F: F.log_softmax(x, 1), gy),
                                 ("cross_entropy", lambda F: F.cross_entropy(x, labels),
                                  torch.tensor(1.0))]:
            clock = time.thread_time if a.clock == "thread" else time.perf_counter
            row(f"{name} fwd+bwd 4096x1000 ({a.clock})",
                *compare(fwd_bwd(make, KF, x, grad), fwd_bwd(make, TF, x, grad), a.rounds,
                         clock=clock))


if __name__ == "__main__":
    main()
