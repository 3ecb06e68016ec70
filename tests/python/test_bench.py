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


def import_bench():
    sys.path.insert(0, os.path.dirname(BENCH))
    try:
        import bench
    finally:
        sys.path.pop(0)
    return bench


def run_bench(tmp_path, *extra):
    out = dict(json=tmp_path / "bench.json", png=tmp_path / "bench.png", md=tmp_path / "perf.md")
    cmd = [sys.executable, BENCH, "--quick", "--threads", "1",
           "--json", str(out["json"]), "--png", str(out["png"]), "--markdown", str(out["md"]), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, out


def test_bench_quick_tiny_cases(tmp_path):
    # A hand-written intro above the marker survives the regeneration of the report.
    bench = import_bench()
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
    # The CPU and each kernel family's ISA path, as kn_cpu_info says.
    import pykernels
    assert meta["cpu_info"] == pykernels.cpu_info()
    assert meta["cpu_fields"] == pykernels.cpu_info_fields()
    assert meta["cpu_family"] == bench.cpu_family(meta["cpu_fields"], meta["cpu"])
    assert meta["cpu_family"].startswith(("Intel", "AMD")) or meta["cpu_fields"]["vendor"] not in (
        "GenuineIntel", "AuthenticAMD")
    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = out["md"].read_text()
    assert md.startswith("# My intro\n\nhand-written\n") and "old table" not in md
    assert md.count(bench.MARKER) == 1
    assert "| op | shape | dir | ours | torch | ratio | %limit |" in md
    assert "| relu | 1 (call overhead) | fwd |" in md
    assert f"## Results: {meta['cpu_family']}, {meta['date']}" in md
    paths = bench.isa_paths(meta["cpu_fields"])
    assert paths.startswith("elementwise=") and "; gemm_ladder=" in paths and "; blas=" in paths
    assert f"* ISA paths (kn_cpu_info): {paths}" in md
    # The table is printed as well, under the machine's header.
    assert "relu" in proc.stdout and "ratio" in proc.stdout
    assert f"ISA paths: {paths}" in proc.stdout and f"CPU family: {meta['cpu_family']}" in proc.stdout


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


# ------------------------------------------------- the CPU family and the report's sections

INTEL = {"cpu": "Intel(R) Xeon(R) Processor", "vendor": "GenuineIntel", "family": "6", "model": "167",
         "isa": "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,avx", "l1d": "48K", "l2": "2M",
         "l3": "480M", "elementwise": "avx512f (target_clones)", "softmax": "avx512f (target_clones)",
         "gemm_ladder": "avx512 6x32 micro-kernel, small float32 GEMMs routed to it",
         "sdpa_softmax": "avx512", "conv2d_direct": "avx512", "blas": "SkylakeX (core type ...)"}
AMD = dict(INTEL, cpu="AMD EPYC 9R14 96-Core Processor", vendor="AuthenticAMD", family="25",
           model="17")


def test_cpu_family_and_model():
    bench = import_bench()
    assert bench.cpu_family(INTEL) == "Intel Xeon (model 167, AVX-512)"
    assert bench.cpu_family(AMD) == "AMD EPYC (Zen 4)"
    assert bench.cpu_family(dict(AMD, model="1", isa="avx2,fma,avx")) == "AMD EPYC (Zen 3)"
    assert bench.cpu_family(dict(AMD, cpu="AMD Ryzen 9 7950X 16-Core Processor", model="97")) == \
        "AMD Ryzen (Zen 4)"
    assert bench.cpu_family(dict(INTEL, model="85", isa="avx2,fma,avx")) == "Intel Xeon (model 85, AVX2)"
    # An old JSON file: no fields, the CPU name alone.
    assert bench.cpu_family({}, "AMD EPYC") == "AMD EPYC"
    assert bench.cpu_family({}, "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz") == "Intel Xeon"
    # A generic /proc/cpuinfo name gets cpuid's family and model; a specific one is kept.
    assert bench._generic_cpu_name("Intel(R) Xeon(R) Processor")
    assert not bench._generic_cpu_name("AMD EPYC 9654 96-Core Processor")
    name = bench.cpu_model(INTEL)
    if bench._generic_cpu_name(bench._proc_cpu_name() or "x"):
        assert name.endswith("(family 6, model 167)")
    assert bench.isa_paths({}) == "" and bench.cpu_details({}) == ""
    assert bench.isa_paths(INTEL).split("; ")[0] == "elementwise=avx512f (target_clones)"


def fake_run(fields, date, ratio, cpu):
    meta = dict(date=date, command="python benchmarks/bench.py --quick", cpu=cpu, cores=2, threads=2,
                device="cpu", torch="2.13", pykernels="0.3.0", blas="OpenBLAS; core=X", quick=True,
                limits={}, omp_wait_policy="(unset)", load_before=[0.1, 0.1, 0.1],
                load_after=[0.2, 0.2, 0.2])
    if fields:
        meta.update(cpu_info="; ".join(f"{k}={v}" for k, v in fields.items()), cpu_fields=fields)
    rows = [dict(op="relu", shape="16M", direction="fwd", ours_s=1e-3 * ratio, torch_s=1e-3, ratio=ratio,
                 pct_limit=None, flops=None, nbytes=None, bound=None)]
    return rows, meta


def sections(bench, path):
    generated = path.read_text().split(bench.MARKER, 1)[1]
    return dict(bench.split_sections(generated))


def test_markdown_keeps_one_section_per_cpu_family(tmp_path):
    bench = import_bench()
    md = tmp_path / "perf.md"
    md.write_text("# Intro\n\nkept\n\n" + bench.MARKER + "\nstale text\n")
    bench.write_markdown(str(md), *fake_run(INTEL, "2026-12-07 10:00 UTC", 1.25, "Intel(R) Xeon(R) Processor"))
    bench.write_markdown(str(md), *fake_run(AMD, "2026-11-21 09:09 UTC", 0.75, "AMD EPYC 9R14"))
    text = md.read_text()
    assert text.startswith("# Intro\n\nkept\n") and "stale text" not in text
    assert text.count(bench.MARKER) == 1 and text.count(bench.PREAMBLE) == 1
    heads = [line for line in text.splitlines() if line.startswith("## Results")]
    # Name order, whatever order the runs came in.
    assert heads == ["## Results: AMD EPYC (Zen 4), 2026-11-21 09:09 UTC",
                     "## Results: Intel Xeon (model 167, AVX-512), 2026-12-07 10:00 UTC"]
    before = sections(bench, md)
    assert set(before) == {"AMD EPYC (Zen 4)", "Intel Xeon (model 167, AVX-512)"}
    assert "| relu | 16M | fwd | 750.0 us | 1.00 ms | 0.75 |" in before["AMD EPYC (Zen 4)"]
    assert "* ISA paths (kn_cpu_info): elementwise=avx512f (target_clones); softmax=" in before["AMD EPYC (Zen 4)"]
    assert "  * AuthenticAMD family 25 model 17; ISA avx512f," in before["AMD EPYC (Zen 4)"]

    # A new Intel run replaces the Intel section only; the AMD one is untouched, byte for byte.
    bench.write_markdown(str(md), *fake_run(INTEL, "2026-12-08 11:00 UTC", 2.0, "Intel(R) Xeon(R) Processor"))
    after = sections(bench, md)
    assert after["AMD EPYC (Zen 4)"] == before["AMD EPYC (Zen 4)"]
    assert after["Intel Xeon (model 167, AVX-512)"].startswith(
        "## Results: Intel Xeon (model 167, AVX-512), 2026-12-08 11:00 UTC\n")
    assert "| 2.00 |" in after["Intel Xeon (model 167, AVX-512)"]
    assert "2026-12-07 10:00 UTC" not in md.read_text()
    # Re-rendering the same run changes nothing.
    once = md.read_text()
    bench.write_markdown(str(md), *fake_run(INTEL, "2026-12-08 11:00 UTC", 2.0, "Intel(R) Xeon(R) Processor"))
    assert md.read_text() == once


def test_from_json_of_an_old_run(tmp_path, capsys):
    """A JSON file written before bench.py recorded kn_cpu_info: its fields are missing, the report
    omits them; --cpu-family files it into the right section of a report in the old one-section form."""
    bench = import_bench()
    rows, meta = fake_run(None, "2026-11-21 09:09 UTC", 0.5, "AMD EPYC")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(dict(meta=meta, rows=rows)))
    md = tmp_path / "perf.md"
    md.write_text("# Intro\n\n" + bench.MARKER + "\n\n## Results (2026-11-20 08:00 UTC)\n\n"
                  "* CPU: AMD EPYC, 2 cores; device cpu, 2 threads for both libraries\n\n| old |\n")
    # Without --cpu-family the old section (keyed by its CPU line) is the one replaced.
    assert bench.main(["--from-json", str(old), "--png", "", "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "BLAS: OpenBLAS; core=X" in out and "ISA paths" not in out and "CPU family" not in out
    text = md.read_text()
    assert "## Results: AMD EPYC, 2026-11-21 09:09 UTC" in text and "| old |" not in text
    assert "ISA paths" not in text and "AuthenticAMD" not in text
    # --cpu-family names the section by hand; a second family is added next to it.
    assert bench.main(["--from-json", str(old), "--png", "", "--markdown", str(md),
                       "--cpu-family", "AMD EPYC (Zen 4)"]) == 0
    rows, meta = fake_run(INTEL, "2026-12-07 10:00 UTC", 1.5, "Intel(R) Xeon(R) Processor")
    new = tmp_path / "new.json"
    new.write_text(json.dumps(dict(meta=meta, rows=rows)))
    assert bench.main(["--from-json", str(new), "--png", "", "--markdown", str(md)]) == 0
    assert list(sections(bench, md)) == ["AMD EPYC", "AMD EPYC (Zen 4)", "Intel Xeon (model 167, AVX-512)"]
    assert "* ISA paths (kn_cpu_info): elementwise=avx512f" in md.read_text()


def test_the_repository_report_parses_into_cpu_sections():
    bench = import_bench()
    doc = os.path.join(os.path.dirname(BENCH), "..", "docs", "performance.md")
    with open(doc) as f:
        generated = f.read().split(bench.MARKER, 1)[1]
    labels = [label for label, _ in bench.split_sections(generated)]
    assert labels and labels == sorted(labels, key=str.casefold) and len(set(labels)) == len(labels)
    assert "AMD EPYC (Zen 4)" in labels
