#!/usr/bin/env python3
"""Fill a scaffolded op's formulas and references from a fixture module
(tests/scaffold/<op>.py), as a person following docs/adding-an-operator.md
would: replace each TODO line, delete the TODO markers. Prints the number of
lines written.

    python tests/scaffold/fill.py FIXTURE.py SOURCE_TREE [formulas|reference|jax-reference|all]

(reference: the C++ one and, where the fixture has PY_REFERENCE, the torch test's;
jax-reference: the JAX test's, JAX_REFERENCE.)
"""
import importlib.util
import pathlib
import re
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("fixture", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def replace_line(path: pathlib.Path, pattern: str, new: str | None) -> int:
    lines = path.read_text().split("\n")
    hits = [i for i, l in enumerate(lines) if re.search(pattern, l)]
    if len(hits) != 1:
        sys.exit(f"fill.py: {path}: expected one line matching {pattern!r}, found {len(hits)}")
    i = hits[0]
    if new is None:  # a TODO marker: one line
        del lines[i]
        path.write_text("\n".join(lines))
        return 0
    lines[i:i + 1] = new.split("\n")
    path.write_text("\n".join(lines))
    return len(new.split("\n"))


def main():
    f = load(sys.argv[1])
    root = pathlib.Path(sys.argv[2])
    part = sys.argv[3] if len(sys.argv) > 3 else "all"  # formulas | reference | jax-reference | all
    op, OP = f.NAME, f.NAME.upper()
    written = 0
    if part in ("formulas", "all"):
        formulas = root / f"kernels/formulas/{op}.hpp"
        written += replace_line(formulas, rf"return x;  // TODO\({op}\)", f.FORWARD)
        written += replace_line(formulas, rf"return dy;  // TODO\({op}\)", f.BACKWARD)
        replace_line(formulas, rf"#define KN_{OP}_FORMULAS_TODO", None)
    if part == "formulas":
        print(written)
        return
    if part in ("jax-reference", "all") and getattr(f, "JAX_REFERENCE", None):
        written += replace_line(root / f"tests/python/test_jax_{op}.py", r"raise NotImplementedError",
                                f.JAX_REFERENCE)
    if part == "jax-reference":
        print(written)
        return
    test = root / f"tests/cpp/test_{op}.cpp"
    written += replace_line(test, rf"return x;  // TODO\({op}\)", f.REFERENCE_FORWARD)
    written += replace_line(test, rf"return 1;  // TODO\({op}\)", f.REFERENCE_DERIVATIVE)
    replace_line(test, rf"#define {OP}_REFERENCE_TODO", None)
    if getattr(f, "PY_REFERENCE", None):
        written += replace_line(root / f"tests/python/test_{op}.py", r"raise NotImplementedError", f.PY_REFERENCE)
    print(written)


if __name__ == "__main__":
    main()
