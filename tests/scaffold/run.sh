#!/usr/bin/env bash
# The scaffold's own test (make test-scaffold; a step of .ci/run): in a copy
# of this tree, generate the fixture op (tests/scaffold/scaled_tanh.py) with
# tools/new_op.py, check that it builds and that its tests run and fail
# saying what to write, fill its formulas and references from the fixture,
# and pass its tests through the fast loop (make check). Logs and timings in
# build/scaffold-test/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
VENV=${VENV:-$ROOT/.venv}
FIXTURE=${1:-$ROOT/tests/scaffold/scaled_tanh.py}
WORK=$ROOT/build/scaffold-test${2:+-$2}
SRC=$WORK/src
OP=$($PY -c "import runpy; print(runpy.run_path('$FIXTURE')['NAME'])")
PARAMS=$($PY -c "import runpy; print(runpy.run_path('$FIXTURE')['PARAMS'])")
FROM=$($PY -c "import runpy; print(runpy.run_path('$FIXTURE')['BACKWARD_FROM'])")

rm -rf "$WORK"
mkdir -p "$SRC"
# The tree as git sees it (tracked, and new files not ignored), mtimes kept.
(cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$SRC"
ln -s "$VENV" "$SRC/.venv"
step() { echo "==> scaffold test: $*"; }
t0=$(date +%s)

step "make new-op NAME=$OP"
make -s -C "$SRC" new-op NAME="$OP" PARAMS="$PARAMS" BACKWARD_FROM="$FROM" | tee "$WORK/new-op.log"

step "generated, not yet filled: builds, and the tests fail saying what to write"
expect_failure() {  # $1: log name, $2: the message the failing run must print
  if make -s -C "$SRC" check OP="$OP" > "$WORK/$1.log" 2>&1; then
    echo "FAIL: the tests passed with placeholders left (see $WORK/$1.log)"; exit 1
  fi
  grep -qF "$2" "$WORK/$1.log" || { echo "FAIL: no '$2' in $WORK/$1.log"; tail -20 "$WORK/$1.log"; exit 1; }
  echo "    fails as it should: $2"
}
expect_failure check-unfilled \
  "the formulas are not written yet: write forward() and backward() in kernels/formulas/$OP.hpp"
t1=$(date +%s)

step "fill the formulas from $(basename "$FIXTURE"): now the reference is missing"
lines=$($PY "$ROOT/tests/scaffold/fill.py" "$FIXTURE" "$SRC" formulas)
expect_failure check-no-reference \
  "write reference_forward() and reference_derivative() in tests/cpp/test_$OP.cpp"

step "fill the references"
lines=$((lines + $($PY "$ROOT/tests/scaffold/fill.py" "$FIXTURE" "$SRC" reference)))
# The JAX layer (jax_ffi/$OP.cpp, pykernels/jax/ops/$OP.py, tests/python/test_jax_$OP.py)
# is built and tested where the build's Python imports jax; elsewhere its test skips.
if "$PY" -c "import jax.ffi" > /dev/null 2>&1; then JAX=1; else JAX=0; fi
if [ $JAX = 1 ]; then
  expect_failure check-no-jax-reference "write reference() in tests/python/test_jax_$OP.py"
else
  echo "    jax is not importable: the JAX test will skip"
fi
lines=$((lines + $($PY "$ROOT/tests/scaffold/fill.py" "$FIXTURE" "$SRC" jax-reference)))
echo "    $lines lines written by hand"

step "make check OP=$OP"
make -s -C "$SRC" check OP="$OP" 2>&1 | tee "$WORK/check.log" | tail -5
if [ $JAX = 1 ]; then  # the JAX test ran and passed (a skip would hide a missing _jax_ffi)
  sed -n "/==> pytest: tests\/python\/test_jax_$OP.py/,/ passed/p" "$WORK/check.log" | tail -1 |
    grep -E "^[0-9]+ passed in" > /dev/null ||
    { echo "FAIL: test_jax_$OP.py did not pass without skips (see $WORK/check.log)"; exit 1; }
  echo "    $(grep -A200 "==> pytest: tests/python/test_jax_$OP.py" "$WORK/check.log" | grep -m1 -E " passed")"
fi
t2=$(date +%s)

step "the layout test sees every layer"
(cd "$SRC/tests/python" && PYKERNELS_BUILD_DIR="$SRC/build/cmake" PYTHONPATH="$SRC/pytorch_glue" \
  "$PY" -m pytest -q -p no:cacheprovider test_layout.py | tail -1)
echo "==> scaffold test passed: generate + first build + failing run $((t1 - t0)) s, fill + check $((t2 - t1)) s"
