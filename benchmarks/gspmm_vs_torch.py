"""gSpMM forward + backward: libkernels (through the C ABI, by ctypes) vs
torch.sparse.mm(csr, x, reduce=...) on the same random graph, interleaved in
one process (the CI machine is shared: medians of alternating runs).

    /work/main/.venv/bin/python benchmarks/gspmm_vs_torch.py --lib build/dev/libkernels.so

Ours reuses the caller's transposed graph (kn_csr_transpose once per graph);
torch's backward transposes the CSR in every call. Both use float32, int64
indices and the same number of threads.
"""
import argparse
import ctypes
import statistics
import time

import numpy as np
import torch

KN_MAX_DIMS = 8
KN_FLOAT32, KN_INT64 = 0, 5
REDUCES = {"sum": 0, "mean": 1, "amax": 2, "amin": 3}


class KnTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32), ("ndim", ctypes.c_int32),
                ("shape", ctypes.c_int64 * KN_MAX_DIMS), ("strides", ctypes.c_int64 * KN_MAX_DIMS)]


class KnExec(ctypes.Structure):
    _fields_ = [("stream", ctypes.c_void_p), ("workspace", ctypes.c_void_p), ("workspace_bytes", ctypes.c_size_t),
                ("num_threads", ctypes.c_int32), ("flags", ctypes.c_uint32)]


class KnParams(ctypes.Structure):
    _fields_ = [("message", ctypes.c_int32), ("reduce", ctypes.c_int32), ("skip_index_check", ctypes.c_int32)]


def desc(t):
    assert t.is_contiguous()
    d = KnTensor()
    d.data = t.data_ptr()
    d.dtype = KN_FLOAT32 if t.dtype == torch.float32 else KN_INT64
    d.device_type, d.device_id, d.ndim = 1, 0, t.dim()
    for i, (s, st) in enumerate(zip(t.shape, t.stride())):
        d.shape[i], d.strides[i] = s, st
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="build/dev/libkernels.so")
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--feat", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--reduce", default="sum,mean,amax,amin")
    ap.add_argument("--skip-check", type=int, default=0, help="p.skip_index_check for our calls")
    a = ap.parse_args()

    lib = ctypes.CDLL(a.lib)
    lib.kn_last_error.restype = ctypes.c_char_p
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(7)
    V = U = a.nodes
    dst = rng.integers(0, V, a.edges)
    src = rng.integers(0, U, a.edges)
    order = np.lexsort((src, dst))
    dst, src = dst[order], src[order]
    indptr = torch.from_numpy(np.concatenate([[0], np.cumsum(np.bincount(dst, minlength=V))]).astype(np.int64))
    indices = torch.from_numpy(src.astype(np.int64))
    A = torch.sparse_csr_tensor(indptr, indices, torch.ones(a.edges), (V, U))
    x = torch.randn(U, a.feat)
    dy = torch.randn(V, a.feat)
    y, dx = torch.empty(V, a.feat), torch.empty(U, a.feat)
    arg = torch.empty(V, a.feat, dtype=torch.int64)
    tp, ti, te = torch.empty(U + 1, dtype=torch.int64), torch.empty_like(indices), torch.empty_like(indices)
    D = {k: desc(v) for k, v in dict(ip=indptr, ix=indices, x=x, dy=dy, y=y, dx=dx, arg=arg, tp=tp, ti=ti,
                                    te=te).items()}
    ex = KnExec(None, None, 0, a.threads, 0)
    ref = ctypes.byref

    def ok(s):
        if s != 0:
            raise RuntimeError(lib.kn_last_error().decode())

    t0 = time.perf_counter()
    ok(lib.kn_csr_transpose(ref(D["ip"]), ref(D["ix"]), ref(D["tp"]), ref(D["ti"]), ref(D["te"]), ref(ex)))
    print(f"kn_csr_transpose (once per graph): {1e3 * (time.perf_counter() - t0):.1f} ms")
    print(f"V=U={V} E={a.edges} F={a.feat} threads={a.threads}; ms, median of {a.reps} interleaved runs")
    print(f"{'reduce':6} {'ours fwd':>9} {'torch fwd':>9} {'ours f+b':>9} {'torch f+b':>9} {'ratio f+b':>9}")
    for name in a.reduce.split(","):
        r = REDUCES[name]
        p = KnParams(0, r, a.skip_check)
        am = r >= 2
        argp = ref(D["arg"]) if am else None

        def ours(backward):
            ok(lib.kn_gspmm_forward(ref(p), ref(D["ip"]), ref(D["ix"]), None, ref(D["x"]), ref(D["y"]), argp,
                                    ref(ex)))
            if backward:
                ok(lib.kn_gspmm_backward(ref(p), ref(D["dy"]), ref(D["ip"]), ref(D["ix"]), ref(D["tp"]),
                                         ref(D["ti"]), ref(D["te"]), None, ref(D["x"]), argp, ref(D["dx"]), None,
                                         ref(ex)))

        xg = x.clone().requires_grad_(True)

        def theirs(backward):
            if backward:
                xg.grad = None
                torch.sparse.mm(A, xg, reduce=name).backward(dy)
            else:
                with torch.no_grad():
                    torch.sparse.mm(A, x, reduce=name)

        # Same results first.
        ours(True)
        xg.grad = None
        yt = torch.sparse.mm(A, xg, reduce=name)
        yt.backward(dy)
        torch.testing.assert_close(y, yt.detach(), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(dx, xg.grad, rtol=1e-4, atol=1e-4)
        res = {}
        for backward in (False, True):
            t_ours, t_theirs = [], []
            for _ in range(a.reps):
                t = time.perf_counter()
                ours(backward)
                t_ours.append(time.perf_counter() - t)
                t = time.perf_counter()
                theirs(backward)
                t_theirs.append(time.perf_counter() - t)
            res[backward] = (1e3 * statistics.median(t_ours), 1e3 * statistics.median(t_theirs))
        print(f"{name:6} {res[False][0]:9.1f} {res[False][1]:9.1f} {res[True][0]:9.1f} {res[True][1]:9.1f} "
              f"{res[True][0] / res[True][1]:9.2f}")


if __name__ == "__main__":
    main()
