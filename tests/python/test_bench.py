"""Smoke test of the benchmark driver benchmarks/bench.py: it runs a couple of tiny
cases with --quick into a temporary directory and writes well-formed JSON, a PNG
chart and a Markdown report. No timing assertions: tests must not depend on speed."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks", "bench.py")
FIELDS = {"op", "shape", "direction", "ours_s", "torch_s", "ratio", "pct_limit", "flops", "nbytes",
          "bound", "rounds", "reps", "settled"}


def run_bench(tmp_path, *extra):
    out = dict(json=tmp_path / "bench.json", png=tmp_path / "bench.png", md=tmp_path / "perf.md")
    cmd = [sys.executable, BENCH, "--quick", "--threads", "1",
           "--json", str(out["json"]), "--png", str(out["png"]), "--markdown", str(out["md"]), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, out


def test_bench_quick_tiny_cases(tmp_path):
    # A hand-written intro above the marker survives the regeneration of the report.
    sys.path.insert(0, os.path.dirname(BENCH))
    try:
        import bench
    finally:
        sys.path.pop(0)
    (tmp_path / "perf.md").write_text("# My intro\n\nhand-written\n\n" + bench.MARKER + "\nold table\n")
    # No machine-limit binary: the run still completes and %limit is '-' (None).
    proc, out = run_bench(tmp_path, "--filter", r"^relu 1 \(call overhead\)|^linear 32x64->10 fwd$",
                          "--machine-bin", str(tmp_path / "no_such_binary"))
    assert "not found" in proc.stderr
    data = json.loads(out["json"].read_text())
    rows = data["rows"]
    keys = {(r["op"], r["shape"], r["direction"]) for r in rows}
    assert keys == {("relu", "1 (call overhead)", "fwd"), ("relu", "1 (call overhead)", "fwd+bwd"),
                    ("linear", "32x64->10", "fwd")}
    for r in rows:
        assert FIELDS <= set(r)
        assert r["ours_s"] > 0 and r["torch_s"] > 0
        assert r["ratio"] == pytest.approx(r["ours_s"] / r["torch_s"])
        assert r["pct_limit"] is None
        assert r["rounds"] >= 1 and r["reps"] >= 1
    lin = next(r for r in rows if r["op"] == "linear")
    assert lin["bound"] == "compute" and lin["flops"] == 2.0 * 32 * 64 * 10
    meta = data["meta"]
    assert meta["threads"] == 1 and meta["quick"] is True and meta["limits"] == {}
    assert meta["torch"] and meta["blas"] and meta["cpu"]
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = out["md"].read_text()
    assert md.startswith("# My intro\n\nhand-written\n") and "old table" not in md
    assert md.count(bench.MARKER) == 1
    assert "| op | shape | dir | ours | torch | ratio | %limit |" in md
    assert "| relu | 1 (call overhead) | fwd |" in md
    # The table is printed as well.
    assert "relu" in proc.stdout and "ratio" in proc.stdout


def test_bench_list(tmp_path):
    proc = subprocess.run([sys.executable, BENCH, "--list", "--filter", "softmax"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout.split("\n")
    assert "softmax 4096x1000 fwd" in listed and "log_softmax 4096x1000 bwd" in listed
    assert not any(line.startswith("relu") for line in listed)


def test_bench_bad_filter_fails(tmp_path):
    proc = subprocess.run([sys.executable, BENCH, "--quick", "--filter", "no-such-case",
                           "--json", str(tmp_path / "x.json"), "--png", ""],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no case matches" in proc.stderr
