"""The pykernels.jax mechanism: every C entry point is a registered FFI target, kernel
errors arrive as Python exceptions carrying kn_last_error(), and the library works
without jax."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from _jax import jax, jnp, kj

ROOT = pathlib.Path(__file__).resolve().parents[2]

# C entry points with no FFI target of their own, and why.
NOT_TARGETS = {
    "kn_embedding_renorm": "mutates the weight in place (torch's max_norm); JAX arrays are immutable",
    "kn_rnn_reserve_cols": "a size query, called from Python",
    "kn_rnn_backward_workspace_size": "a size query, called from Python",
    "kn_scaled_dot_product_attention_lse_shape": "a shape query, computed in Python",
    "kn_max_pool2d_output_size": "a shape query, computed in Python",
}


def c_entry_points():
    names = set()
    for header in (ROOT / "capi" / "include" / "kernels").glob("*.h"):
        if header.name in ("core.h", "kernels.h"):
            continue
        names |= set(re.findall(r"KN_API\s+kn_status\s+(kn_\w+)\s*\(", header.read_text()))
    return names


def test_every_c_entry_point_is_a_target():
    registered = set(kj.targets())
    missing = sorted(n for n in c_entry_points() - set(NOT_TARGETS)
                     if "pykernels." + n[len("kn_"):] not in registered)
    assert not missing, f"C entry points without an FFI target (jax_ffi/<op>.cpp): {missing}"
    for name, platforms in kj.targets().items():
        assert "cpu" in platforms, name


def test_kernel_error_is_a_python_exception_with_the_library_message():
    from pykernels.jax._ffi import call
    x = jnp.arange(6, dtype=jnp.int32)  # the kernel refuses integers: KN_ERR_UNSUPPORTED
    with pytest.raises(Exception, match=r"pykernels\.relu_forward: .*KN_ERR_UNSUPPORTED") as info:
        jax.block_until_ready(call("relu_forward", jax.ShapeDtypeStruct((6,), jnp.int32), x))
    assert isinstance(info.value, jax.errors.JaxRuntimeError)
    # mismatched shapes: validated by the C ABI, reported, and the process goes on
    with pytest.raises(jax.errors.JaxRuntimeError, match="KN_ERR_SHAPE_MISMATCH"):
        jax.block_until_ready(call("relu_forward", jax.ShapeDtypeStruct((5,), jnp.float32),
                                   jnp.ones(6, jnp.float32)))
    np.testing.assert_array_equal(kj.relu(jnp.array([-1.0, 2.0])), [0.0, 2.0])


def test_a_missing_attribute_is_reported_not_a_crash():
    from pykernels.jax import _ffi
    fn = jax.ffi.ffi_call("pykernels.linear_backward", [jax.ShapeDtypeStruct((2, 3), jnp.float32)])
    with pytest.raises(jax.errors.JaxRuntimeError, match="pykernels.linear_backward"):
        jax.block_until_ready(fn(jnp.ones((2, 4), jnp.float32)))  # too few operands, no masks
    with pytest.raises(TypeError, match="attribute"):
        _ffi.call("relu_forward", jax.ShapeDtypeStruct((1,), jnp.float32), jnp.ones(1), alpha="x")


def test_jit_caches_one_executable_per_shape_and_attribute():
    f = jax.jit(lambda x: kj.relu(x) * 2)
    a = f(jnp.ones(4, jnp.float32))
    b = f(jnp.full(4, -1.0, jnp.float32))
    np.testing.assert_array_equal(a, [2, 2, 2, 2])
    np.testing.assert_array_equal(b, [0, 0, 0, 0])
    assert f._cache_size() == 1


def test_the_library_imports_and_works_without_jax():
    """With jax made unimportable: pykernels (NumPy) works, and pykernels.jax raises a
    clear ImportError."""
    code = (
        "import sys; sys.modules['jax'] = None\n"
        "import numpy as np, pykernels\n"
        "assert (pykernels.relu(np.array([-1.0, 2.0])) == [0, 2]).all()\n"
        "try:\n"
        "    import pykernels.jax\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ImportError: pykernels.jax needs jax" in out.stdout, out.stdout


def test_bench_jax_runs_and_writes_its_json(tmp_path):
    """benchmarks/bench_jax.py (the issue's per-op ratios): one case, both columns, JSON."""
    import json
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_jax.py"), "--filter", "linear 32x64->10",
                          "--repeat", "1", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("CPU: "), run.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [r["case"] for r in rows] == ["linear 32x64->10"]
    assert rows[0]["fwdbwd_ratio"] > 0 and rows[0]["fwd_ratio"] > 0
