#!/usr/bin/env python3
"""Did the compiler vectorise an element-wise op's loops?

    python tools/vec_report.py BUILD_DIR OP        (make check runs it; make vec-report OP=...)

Recompiles kernels/cpu/<op>.cpp with the build's own command plus
-fopt-info-vec-all and reads GCC's verdict on the two loops every formula runs
in (kernels/internal/elementwise.hpp: unary_block for forward, binary_block for
backward). Each is compiled 6 times: float and double, times the baseline,
AVX2 and AVX-512 clones (16-, 32- and 64-byte vectors). A formula with a
branch, a call GCC cannot inline or vectorise (std::exp on a float), or a
select GCC does not if-convert leaves a loop scalar: 5-15x slower than torch,
with no other sign. Exit status 1 if a loop is not vectorised.
"""
import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
HEADER = ROOT / "kernels" / "internal" / "elementwise.hpp"
LOOPS = {"forward": "b[j] = fn(a[j]);", "backward": "b[j] = fn(g[j], a[j]);"}


def main() -> int:
    build, op = pathlib.Path(sys.argv[1]), sys.argv[2]
    source = f"kernels/cpu/{op}.cpp"
    lines = HEADER.read_text().split("\n")
    where = {name: next(i + 1 for i, l in enumerate(lines) if text in l) for name, text in LOOPS.items()}
    commands = subprocess.run(["ninja", "-C", str(build), "-t", "commands", "kernels_objects"],
                              capture_output=True, text=True, check=True).stdout.splitlines()
    command = next((c for c in commands if c.rstrip().endswith(source) or f"/{source} " in c + " "), None)
    if command is None:
        print(f"vec-report: no compile command for {source} in {build}")
        return 0
    argv = [a for a in shlex.split(command) if not a.endswith("ccache")]
    out = argv.index("-o")
    argv[out + 1] = "/dev/null"
    argv += ["-fopt-info-vec-all"]
    report = subprocess.run(argv, capture_output=True, text=True, cwd=build).stderr
    uses = report.count(HEADER.name)
    if not uses:
        print(f"vec-report: {op} does not use kernels/internal/elementwise.hpp's loops (nothing to check)")
        return 0
    status = 0
    for name, line in where.items():
        pat = re.compile(rf"{HEADER.name}:{line}:\d+: (optimized: loop vectorized using (\d+) byte vectors|missed: (not vectorized: .*))")
        widths, reasons = set(), set()
        for m in pat.finditer(report):
            if m.group(2):
                widths.add(int(m.group(2)))
            else:
                reasons.add(m.group(3))
        if not widths and not reasons:
            continue  # this op has no such loop (e.g. a hand-written backward)
        if {32, 64} <= widths:
            print(f"vec-report: {op} {name}: vectorised (AVX-512 64-byte, AVX2 32-byte and baseline clones)")
        else:
            status = 1
            print(f"vec-report: {op} {name}: NOT vectorised in the AVX2/AVX-512 clones "
                  f"(GCC: {'; '.join(sorted(reasons)) or 'no verdict'}). Make the formula branch-free "
                  "(c ? a : b with both arms computed), use exp_t/log_t/... not std::, and see "
                  "docs/adding-an-operator.md, section 3.")
    return status


if __name__ == "__main__":
    sys.exit(main())
