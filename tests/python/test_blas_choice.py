"""Which BLAS libkernels loads (kernels/internal/blas.cpp, docs/abi.md "BLAS").

The choice is made once per process at the first GEMM, so each case runs in a
subprocess with its own environment: MKL on Intel CPUs when libmkl_rt loads,
OpenBLAS otherwise, KN_BLAS=openblas|mkl to override, a clear error for a
name it does not know or an MKL it cannot load. Whatever is chosen, Linear
forward and backward match NumPy's float64 products.
"""
import json
import os
import subprocess
import sys

import pytest

import pykernels as pk

# Runs in the child: the BLAS line, then Linear (float32 and float64, strided
# operands, 2 threads) against NumPy in float64.
CHILD = r"""
import json, sys
import numpy as np
import pykernels as pk
try:
    info = pk.blas_info()
except pk.KernelError as e:
    print(json.dumps({"error": e.message, "status": e.status}))
    sys.exit(0)
rng = np.random.default_rng(0)
worst = 0.0
for dtype, tol in ((np.float32, 2e-5), (np.float64, 1e-12)):
    x = rng.standard_normal((70, 300)).astype(dtype)[:, ::2]      # strided columns
    w = rng.standard_normal((130, 150)).astype(dtype)
    b = rng.standard_normal(130).astype(dtype)
    y = pk.linear(x, w, b, num_threads=2)
    ref = x.astype(np.float64) @ w.astype(np.float64).T + b
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dw, db = pk.linear_backward(dy, x, w, num_threads=2)
    d64 = dy.astype(np.float64)
    for got, want in ((y, ref), (dx, d64 @ w.astype(np.float64)), (dw, d64.T @ x.astype(np.float64)),
                      (db, d64.sum(0))):
        err = float(np.max(np.abs(got - want)) / (np.max(np.abs(want)) + 1e-30))
        assert err < tol, (dtype, err)
        worst = max(worst, err)
print(json.dumps({"info": info, "worst": worst}))
"""


def run_child(**env_changes):
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def mkl_path():
    """pip's MKL in this environment (what pykernels names for the loader), or None."""
    for soname in ("libmkl_rt.so.3", "libmkl_rt.so.2"):
        path = os.path.join(sys.prefix, "lib", soname)
        if os.path.exists(path):
            return path
    return None


def is_intel():
    return pk.cpu_info_fields()["vendor"] == "GenuineIntel"


def test_openblas_when_asked():
    r = run_child(KN_BLAS="openblas")
    assert r["info"].startswith("OpenBLAS"), r
    assert "; core=" in r["info"] and "; threads=" in r["info"]


def test_default_choice_follows_the_cpu():
    r = run_child(KN_BLAS=None)
    if is_intel() and mkl_path():
        assert "Math Kernel Library" in r["info"], r
        assert "core=MKL (chosen by libkernels: Intel CPU)" in r["info"], r
        assert "GNU layer" in r["info"], r  # on libgomp, not a second thread pool
    else:
        assert r["info"].startswith("OpenBLAS"), r


def test_mkl_when_asked():
    if not mkl_path():
        pytest.skip("pip's mkl is not installed in this environment")
    r = run_child(KN_BLAS="mkl")
    assert "core=MKL (KN_BLAS=mkl set by the user)" in r["info"], r


def test_pykernels_names_pip_mkl_and_keeps_the_users_choice():
    code = "import os, pykernels; print(os.environ.get('KN_MKL_LIBRARY', ''))"
    env = {k: v for k, v in os.environ.items() if k != "KN_MKL_LIBRARY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == (mkl_path() or "")
    env["KN_MKL_LIBRARY"] = "/elsewhere/libmkl_rt.so"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "/elsewhere/libmkl_rt.so"


def test_mkl_that_cannot_load_is_an_error_not_a_silent_fallback():
    r = run_child(KN_BLAS="mkl", KN_MKL_LIBRARY="/nonexistent/libmkl_rt.so.3")
    if "info" in r:  # a system MKL (Debian's libmkl-rt) was found by its soname
        assert "Math Kernel Library" in r["info"], r
        return
    assert r["status"] == "KN_ERR_BACKEND", r
    assert "KN_BLAS=mkl but MKL could not be loaded" in r["error"], r
    assert "/nonexistent/libmkl_rt.so.3" in r["error"], r


def test_unknown_blas_name():
    r = run_child(KN_BLAS="atlas")
    assert r == {"status": "KN_ERR_BACKEND",
                 "error": "kn_blas_info: BLAS: KN_BLAS=atlas is not a BLAS libkernels knows "
                          "(openblas or mkl)"}, r
