#!/usr/bin/env python3
"""Scaffold a new element-wise operator through every layer of libkernels.

    make new-op NAME=softplus PARAMS="beta:float=1.0:nonzero,threshold:float=20.0" BACKWARD_FROM=input
    python tools/new_op.py softplus --params "beta:float=1.0:nonzero,threshold:float=20.0" \
        [--backward-from input|output] [--torch torch.nn.functional.softplus] [--dry-run]

PARAMS: comma-separated NAME:TYPE=DEFAULT[:RULE], in the order of the C
signature. TYPE is float (a C double), int (int64_t) or bool (int32_t 0/1).
RULE (optional) restricts the value beyond "finite": positive, nonnegative
or nonzero. BACKWARD_FROM: what the backward takes besides grad_output,
the forward's input x (default) or its output y.

It writes the files below (see docs/adding-an-operator.md) and adds one line
to capi/include/kernels/kernels.h. Everything builds and every test runs at
once; the tests fail, saying what to write, until you fill in:

  kernels/formulas/<op>.hpp      forward() and backward(), then delete the TODO line
  tests/cpp/test_<op>.cpp        reference_forward() and reference_derivative()
                                 in double, then delete the TODO line
  tests/python/test_<op>.py      only when torch has no such function: reference()
  tests/python/test_jax_<op>.py  only when jax.nn has no such function: reference()

Nothing else is op-specific: bindings, NumPy, torch and JAX functions, autograd,
fake kernels, fast path, tests and the benchmark row are complete.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import keyword
import pathlib
import re
import sys
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "tools" / "scaffold" / "elementwise"
UMBRELLA = "capi/include/kernels/kernels.h"

# template -> destination (relative to the root; {op} is the op's name)
FILES = {
    "header.h": "capi/include/kernels/{op}.h",
    "ops.hpp": "kernels/ops/{op}.hpp",
    "formulas.hpp": "kernels/formulas/{op}.hpp",
    "cpu.cpp": "kernels/cpu/{op}.cpp",
    "cuda.cu": "kernels/cuda/{op}.cu",
    "capi.cpp": "capi/{op}.cpp",
    "binding.cpp": "bindings/{op}.cpp",
    "numpy_op.py": "pytorch_glue/pykernels/ops/{op}.py",
    "torch_op.py": "pytorch_glue/pykernels/torch/ops/{op}.py",
    "test_op.cpp": "tests/cpp/test_{op}.cpp",
    "test_cuda_op.cpp": "tests/cpp/test_cuda_{op}.cpp",
    "test_op.py": "tests/python/test_{op}.py",
    "fuzz_op.cpp": "tests/fuzz/ops/{op}.cpp",
    "jax_ffi.cpp": "jax_ffi/{op}.cpp",
    "jax_op.py": "pytorch_glue/pykernels/jax/ops/{op}.py",
    "test_jax_op.py": "tests/python/test_jax_{op}.py",
}

C_TYPES = {"float": "double", "int": "int64_t", "bool": "int32_t"}
PY_TYPES = {"float": "float", "int": "int", "bool": "bool"}
RULES = {"": "Any", "positive": "Positive", "nonnegative": "Nonnegative", "nonzero": "Nonzero"}
RULE_TEXT = {"": "finite", "positive": "finite, > 0", "nonnegative": "finite, >= 0", "nonzero": "finite, != 0"}


@dataclass
class Param:
    name: str
    type: str
    default: str
    rule: str = ""

    @property
    def py_default(self) -> str:
        if self.type == "bool":
            return "True" if self.default.lower() in ("1", "true") else "False"
        if self.type == "int":
            return str(int(self.default))
        return repr(float(self.default))

    @property
    def c_default(self) -> str:
        if self.type == "bool":
            return "1" if self.py_default == "True" else "0"
        return str(int(self.default)) if self.type == "int" else repr(float(self.default))


def rule_text(p: Param) -> str:
    """The domain of a parameter, as the C header documents it."""
    if p.type == "bool":
        return "0 or 1"
    if p.type == "int":
        return RULE_TEXT[p.rule].replace("finite, ", "") if p.rule else "any"
    return RULE_TEXT[p.rule]


def fail(message: str) -> None:
    sys.exit(f"new-op: {message}")


def parse_params(text: str) -> list[Param]:
    params = []
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        m = re.fullmatch(r"([a-z_][a-z0-9_]*):(float|int|bool)=([^:]+)(?::(\w+))?", item)
        if not m:
            fail(f"bad parameter {item!r}: expected NAME:TYPE=DEFAULT[:RULE], TYPE float|int|bool, "
                 "e.g. beta:float=1.0:positive")
        name, typ, default, rule = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if keyword.iskeyword(name) or name in ("x", "y", "dy", "dx", "input", "out", "ex", "op", "v",
                                               "num_threads", "stream", "ctx", "grad_output"):
            fail(f"parameter name {name!r} is taken (a keyword or an argument every op has)")
        if rule not in RULES:
            fail(f"parameter {name}: unknown rule {rule!r} (positive, nonnegative, nonzero)")
        if rule and typ == "bool":
            fail(f"parameter {name}: a bool takes no rule")
        try:
            float(default) if typ == "float" else int(default) if typ == "int" else None
        except ValueError:
            fail(f"parameter {name}: default {default!r} is not a {typ}")
        if typ == "bool" and default.lower() not in ("0", "1", "true", "false"):
            fail(f"parameter {name}: default {default!r} is not a bool (true/false)")
        params.append(Param(name, typ, default, rule))
    if len({p.name for p in params}) != len(params):
        fail("two parameters have one name")
    if len(params) > 4:
        fail("at most 4 scalar parameters (the fuzz harness keeps 4 per call)")
    return params


def camel(op: str) -> str:
    return "".join(w.capitalize() for w in op.split("_"))


def torch_peer(op: str, spec: str | None, params: list[Param]):
    """(functional qualname or None, nn class qualname or None, whether the functional
    takes inplace) from torch; warns where torch's parameters differ from PARAMS."""
    try:
        import torch  # noqa: F401
        import torch.nn.functional as F
    except ImportError:
        return spec, None, False
    functional = spec
    if functional is None and hasattr(F, op):
        functional = f"torch.nn.functional.{op}"
    module = None
    want = op.replace("_", "").lower()
    import torch.nn as nn
    for name in dir(nn):
        cls = getattr(nn, name)
        if isinstance(cls, type) and issubclass(cls, nn.Module) and name.lower() == want:
            module = f"torch.nn.{name}"
    inplace = False
    if functional:
        mod, _, attr = functional.rpartition(".")
        try:
            fn = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError):
            fail(f"--torch {functional}: no such function")
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            theirs = [(n, p.default) for n, p in list(sig.parameters.items())[1:] if n != "inplace"]
            ours = [(p.name, p.py_default) for p in params]
            inplace = "inplace" in sig.parameters
            if [n for n, _ in theirs] != [n for n, _ in ours] or any(
                    repr(d) != v for (_, d), (_, v) in zip(theirs, ours)):
                print(f"new-op: note: {functional} takes "
                      f"({', '.join(f'{n}={d!r}' for n, d in theirs)}), PARAMS say "
                      f"({', '.join(f'{n}={v}' for n, v in ours)}): functional.{op} mirrors PARAMS, "
                      "and the parity tests call both positionally")
    return functional, module, inplace


def jax_peer(op: str, params: list[Param]) -> str | None:
    """"jax.nn.<op>" where jax is importable and jax.nn has the function with PARAMS's
    names after x (the JAX test then compares with it), else None."""
    try:
        import jax.nn
    except ImportError:
        return None
    fn = getattr(jax.nn, op, None)
    if not callable(fn):
        return None
    try:
        names = list(inspect.signature(fn).parameters)[1:]
    except (TypeError, ValueError):
        return None
    if names != [p.name for p in params]:
        print(f"new-op: note: jax.nn.{op} takes ({', '.join(names)}), PARAMS say "
              f"({', '.join(p.name for p in params)}): tests/python/test_jax_{op}.py asks for a reference")
        return None
    return f"jax.nn.{op}"


def changed(p: Param) -> str:
    """Another valid value of p (the JAX suite tries each parameter changed alone)."""
    if p.type == "bool":
        return "False" if p.py_default == "True" else "True"
    if p.type == "int":
        d = int(p.default)
        return str(d * 2 if d else 1)
    d = float(p.default)
    return repr(d * 2 if d else 0.5)


def jax_bad(p: Param) -> list[str]:
    """(params, message) entries of values the JAX function must refuse before the call."""
    out = [f'({{"{p.name}": float("nan")}}, "{p.name} must be finite")'] if p.type == "float" else []
    zero = "0.0" if p.type == "float" else "0"
    minus = "-1.0" if p.type == "float" else "-1"
    values = {"positive": [(zero, "> 0"), (minus, "> 0")], "nonnegative": [(minus, ">= 0")],
              "nonzero": [(zero, "!= 0")]}.get(p.rule, [])
    out += [f'({{"{p.name}": {v}}}, "{p.name} must be {m}")' for v, m in values]
    return out


def substitutions(op: str, params: list[Param], saves: str, functional, module, inplace=False,
                  jax_functional=None) -> dict:
    saved = "x" if saves == "input" else "y"
    names = [p.name for p in params]
    c_types = [C_TYPES[p.type] for p in params]
    py_types = [PY_TYPES[p.type] for p in params]
    pad = " " * (len(op) + 5)
    s = {
        "op": op, "Op": camel(op), "OP": op.upper(),
        "fwd_pad": " " * len(f"KN_API kn_status kn_{op}_forward("),
        "bwd_pad": " " * len(f"KN_API kn_status kn_{op}_backward("),
        "saved": saved,
        "saved_py": "x" if saved == "x" else "output",
        "saved_doc": "its input x" if saved == "x" else "its output y",
        "saved_doc_upper": "INPUT x" if saved == "x" else "OUTPUT y",
        "doc_params": ("; " + ", ".join(names)) if names else "",
        "doc_param_rules": ", ".join(f"{p.name} ({rule_text(p)})" for p in params) or "none",
        "c_params": "".join(f"{t} {n}, " for t, n in zip(c_types, names)),
        "k_params_trailing": "".join(f", {t} {n}" for t, n in zip(c_types, names)),
        "k_args": "".join(f"{n}, " for n in names),
        "call_params": "".join(f", {n}" for n in names),
        "formula_members": ("  T " + ", ".join(names) + ";  // the scalar parameters, in T\n") if names
                           else "",
        "b_names": "".join(f'"{n}"_a, ' for n in names),
        "pad": pad,
        "py_params": "".join(f", {n}: {t} = {p.py_default}" for n, t, p in zip(names, py_types, params)),
        "py_typed": "".join(f", {n}: {t}" for n, t in zip(names, py_types)),
        "py_convert": "".join(f", {t}({n})" for n, t in zip(names, py_types)),
        "py_args": "".join(f", {n}" for n in names),
        "torch_functional": functional or "None",
        "torch_functional_doc": functional or "(torch has no such function)",
        "torch_module_doc": module or "(torch has no such module)",
        "Module": module.rpartition(".")[2] if module else camel(op),
        "nn_sig_doc": ", ".join(f"{n}={p.py_default}" for n, p in zip(names, params)),
        # tests
        "cpp_params": ",\n".join(
            f'      {{"{p.name}", {p.c_default}, kntest::ScalarKind::{p.type.capitalize()}, '
            f'kntest::ScalarRule::{RULES[p.rule]}}}' for p in params),
        "cpp_p_cast": "".join(f"{'static_cast<' + C_TYPES[p.type] + '>(p[' + str(i) + '])'}, "
                              for i, p in enumerate(params)),
        "ref_params": "".join(f"  [[maybe_unused]] const double {p.name} = p[{i}];\n" for i, p in enumerate(params)),
        "from_output": "true" if saves == "output" else "false",
        "fuzz_params_decl": ("constexpr fz::ScalarSpec kParams[] = {\n" + "".join(
            f'    {{"{p.name}", {p.c_default}, fz::ScalarSpec::{p.type.capitalize()}, fz::ScalarSpec::{RULES[p.rule]}}},\n'
            for p in params) + "};\n") if params else "constexpr const fz::ScalarSpec* kParams = nullptr;\n",
        "fuzz_args": "".join(f"static_cast<{C_TYPES[p.type]}>(c.dp[{i}]), " for i, p in enumerate(params)),
        "nparams": str(len(params)),
        "capi_checks": "".join(
            (f'  kn::capi::check_flag(v, "{p.name}", {p.name});\n' if p.type == "bool" else
             f'  kn::capi::check_scalar(v, "{p.name}", {p.name}, kn::capi::Scalar::{RULES[p.rule]});\n')
            for p in params),
        "c_defaults": "".join(f"{p.c_default}, " for p in params),
        "py_reference_args": "".join(f", {n}" for n in names),
    }
    bad = {"positive": "[0, -1]", "nonnegative": "[-1]", "nonzero": "[0]"}
    s["py_bad"] = ", ".join(f'"{p.name}": {bad[p.rule]}' for p in params if p.rule)
    if functional:
        s["reference_doc"] = functional
        s["py_reference"] = f"\nreference = {functional}  # reference(x, *params), differentiable\n"
    else:
        s["reference_doc"] = "a reference written in torch operations"
        s["py_reference"] = (
            "\n\ndef reference(x" + s["py_typed"] + "):\n"
            f'    """REFERENCE: y = {op}(x' + s["doc_params"] + ') in torch operations (autograd\n'
            f'    differentiates it for the backward parity)."""\n'
            f'    raise NotImplementedError("write reference() in tests/python/test_{op}.py")\n')
    # The torch glue (torch_op.py) is a spec for _elementwise.elementwise_op. torch's
    # functional takes inplace=: so does ours (computed out of place, then copied into
    # the input, as torch's own fallback does).
    s["inplace_sig"] = ", inplace: bool = False" if inplace else ""
    s["inplace_spec"] = "True" if inplace else "False"
    s["param_specs"] = ", ".join(f'Param("{p.name}", {PY_TYPES[p.type]}, {p.py_default})' for p in params)
    s["module_base_spec"] = module or "None"
    s["torch_import"] = "\nimport torch\n" if (functional or module) else ""
    s["elementwise_imports"] = "Param, elementwise_op" if params else "elementwise_op"
    # JAX (jax_ffi.cpp, jax_op.py, test_jax_op.py): the parameters are FFI attributes,
    # float64 / int64 (bools as int64 0/1), read by name
    reader = {"float": "f64", "int": "i64", "bool": "flag"}
    attr_type = {"float": "float64", "int": "int64", "bool": "bool as int64"}
    s["jax_attrs"] = "".join(f'c.{reader[p.type]}("{p.name}"), ' for p in params)
    s["jax_attrs_doc"] = ("attributes: " + ", ".join(f"{p.name} ({attr_type[p.type]})" for p in params)
                          + ". ") if params else ""
    s["jax_sig_doc"] = "".join(f", {p.name}={p.py_default}" for p in params)
    s["jax_peer_doc"] = f"like {jax_functional}" if jax_functional else "(jax.nn has no such function)"
    s["jax_param_specs"] = ", ".join(
        f'Param("{p.name}", {PY_TYPES[p.type]}, {p.py_default}' + (f', rule="{p.rule}"' if p.rule else "") + ")"
        for p in params)
    s["jax_params_changed"] = "".join(f', {{"{p.name}": {changed(p)}}}' for p in params)
    s["jax_bad"] = (",\n" + " " * 33).join(b for p in params for b in jax_bad(p))
    s["jax_pad"] = " " * (len(op) + len(" = elementwise_op("))
    if jax_functional:
        s["jax_reference_doc"] = jax_functional
        s["jax_py_reference"] = f"\nreference = {jax_functional}  # reference(x, **params), differentiable\n"
    else:
        s["jax_reference_doc"] = "a reference written in jax.numpy"
        s["jax_py_reference"] = (
            "\n\ndef reference(x" + s["py_typed"] + "):\n"
            f'    """REFERENCE: y = {op}(x' + s["doc_params"] + ') in jax.numpy operations (JAX\n'
            f'    differentiates it for the gradient parity)."""\n'
            f'    raise NotImplementedError("write reference() in tests/python/test_jax_{op}.py")\n')
    return s


def render(template: str, subs: dict) -> str:
    def repl(m):
        key = m.group(1)
        if key not in subs:
            fail(f"template token @@{key}@@ has no value (a bug in tools/new_op.py)")
        return subs[key]
    for _ in range(3):  # values may hold tokens themselves (inplace_body)
        template = re.sub(r"@@(\w+)@@", repl, template)
    return template


def add_to_umbrella(root: pathlib.Path, op: str, dry_run: bool) -> str:
    path = root / UMBRELLA
    lines = path.read_text().split("\n")
    inc = f'#include "kernels/{op}.h"'
    if inc in lines:
        return "already listed"
    ops = [i for i, l in enumerate(lines) if l.startswith('#include "kernels/') and l != '#include "kernels/core.h"']
    pos = next((i for i in ops if lines[i] > inc), ops[-1] + 1)
    lines.insert(pos, inc)
    if not dry_run:
        path.write_text("\n".join(lines))
    return "added"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("name", help="the op's name: lower_snake_case, e.g. softplus")
    ap.add_argument("--params", default="", help='e.g. "beta:float=1.0:positive,threshold:float=20.0"')
    ap.add_argument("--backward-from", choices=("input", "output"), default="input")
    ap.add_argument("--torch", default=None,
                    help="torch's function to compare with (default: torch.nn.functional.NAME if it exists)")
    ap.add_argument("--root", default=str(ROOT), help="the source tree to write into (default: this one)")
    ap.add_argument("--dry-run", action="store_true", help="print what would be written")
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    a = ap.parse_args(argv)

    op = a.name
    if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", op) or keyword.iskeyword(op):
        fail(f"name {op!r}: expected lower_snake_case (e.g. softplus, hard_shrink)")
    root = pathlib.Path(a.root).resolve()
    params = parse_params(a.params)
    functional, module, inplace = torch_peer(op, a.torch, params)
    jax_functional = jax_peer(op, params)
    subs = substitutions(op, params, a.backward_from, functional, module, inplace, jax_functional)

    taken = [FILES[t].format(op=op) for t in FILES if (root / FILES[t].format(op=op)).exists()]
    existing_api = (root / "pytorch_glue/pykernels/__init__.py").read_text()
    if re.search(rf"^def {op}\(", existing_api, re.M):
        fail(f"pykernels already has an op named {op!r}")
    if taken and not a.force:
        fail("these files exist already (--force overwrites): " + ", ".join(taken))

    for template, dest in FILES.items():
        path = root / dest.format(op=op)
        text = render((TEMPLATES / template).read_text(), subs)
        if a.dry_run:
            print(f"would write {path.relative_to(root)} ({text.count(chr(10))} lines)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(root)}")
    print(f"{UMBRELLA}: {add_to_umbrella(root, op, a.dry_run)} #include \"kernels/{op}.h\"")
    print(f"""
Next (docs/adding-an-operator.md):
  1. kernels/formulas/{op}.hpp   write forward() and backward(); delete the TODO line
  2. tests/cpp/test_{op}.cpp     write the double reference; delete the TODO line""" +
          ("" if functional else f"\n  3. tests/python/test_{op}.py   write reference() (torch has no {op})") +
          ("" if jax_functional else
           f"\n  {4 if not functional else 3}. tests/python/test_jax_{op}.py   write reference() in jax.numpy "
           f"(jax.nn has no {op} taking these PARAMS)") + f"""
  then: make check OP={op}     (rebuilds what changed, runs this op's tests, < 1 min)
        make bench-op OP={op}  (against {functional or 'the reference'})""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
