"""The source layout the scaffold and the build rely on (docs/adding-an-operator.md):
every public operator header is in the umbrella kernels/kernels.h, and every
operator with per-op files has all of them."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADERS = ROOT / "capi" / "include" / "kernels"


def test_umbrella_includes_every_operator_header():
    umbrella = (HEADERS / "kernels.h").read_text()
    included = set(re.findall(r'^#include "kernels/(\w+)\.h"', umbrella, re.M))
    headers = {p.stem for p in HEADERS.glob("*.h")} - {"kernels"}
    assert headers - included == set(), "add these to capi/include/kernels/kernels.h"
    assert included - headers == set(), "kernels.h includes headers that do not exist"


def test_internal_declarations_match_public_headers():
    internal = {p.stem for p in (ROOT / "kernels" / "ops").glob("*.hpp")}
    public = {p.stem for p in HEADERS.glob("*.h")} - {"kernels", "core"}
    assert internal == public


def test_scaffolded_ops_have_every_layer():
    """An op with a formula file (written by tools/new_op.py, or by hand: sigmoid, tanh,
    leaky_relu, gelu) has all its files. Its fuzz entries are tests/fuzz/ops/<op>.cpp
    (the scaffold's) or rows of the table in tests/fuzz/entries.cpp (the older ops')."""
    table = (ROOT / "tests" / "fuzz" / "entries.cpp").read_text()
    for formula in (ROOT / "kernels" / "formulas").glob("*.hpp"):
        op = formula.stem
        for path in (f"capi/include/kernels/{op}.h", f"kernels/ops/{op}.hpp", f"kernels/cpu/{op}.cpp",
                     f"kernels/cuda/{op}.cu", f"capi/{op}.cpp", f"bindings/{op}.cpp",
                     f"pytorch_glue/pykernels/ops/{op}.py", f"pytorch_glue/pykernels/torch/ops/{op}.py",
                     f"tests/cpp/test_{op}.cpp", f"tests/cpp/test_cuda_{op}.cpp",
                     f"tests/python/test_{op}.py"):
            assert (ROOT / path).exists(), path
        in_table = all(f'{{"kn_{op}_{d}",' in table for d in ("forward", "backward"))
        assert in_table or (ROOT / f"tests/fuzz/ops/{op}.cpp").exists(), f"tests/fuzz/ops/{op}.cpp"
        assert "FORMULAS_TODO" not in formula.read_text(), f"{formula}: formulas not written"
