#!/usr/bin/env bash
# shellcheck disable=SC2317  # the step functions run via `bash -c step_<name>`, unseen by shellcheck
# The GPU test suite in one command (`make test-gpu`).
#
# For a machine with an NVIDIA GPU (written for an H100, sm_90) that has, already
# installed: CUDA nvcc (13), compute-sanitizer, Python 3 with torch (a CUDA build),
# numpy, pybind11, scikit-build-core, pytest, cmake and ninja. Nothing is downloaded:
# no apt, no pip index, no FetchContent. It does not use the Makefile's apt/.venv
# set-up; its build tree is build/gpu and its Python venv build/gpu/venv.
#
#   make test-gpu                                 # everything, logs in build/gpu/logs
#   OUT=/some/dir make test-gpu                   # logs in $OUT/test-gpu
#   make test-gpu STEPS=ctest-cuda,sanitize       # a subset (after a full run)
#   tests/gpu/run.sh --dry-run                    # print what would run
#   tests/gpu/run.sh --list                       # the step names
#
# Steps, in this order (the GPU work first, the CPU suites last). Each has a time limit
# and its own log; a failing step does not stop the later ones (a step whose input is
# missing fails with the reason). The exit status is non-zero if any step failed, timed
# out or did not run.
#   gpu          a GPU is visible (nvidia-smi, torch.cuda). Without one every CUDA case
#                skips and proves nothing: FAIL, unless REQUIRE_GPU=0 (then SKIP).
#   configure    finds GoogleTest and Google Benchmark with a throwaway CMake project
#                (GoogleTest missing: built from /usr/src/googletest or $GTEST_SOURCE_DIR
#                when present, else the GoogleTest suites are not built and the ctest
#                steps FAIL saying so; Benchmark missing: benchmarks OFF), then
#                configures build/gpu: Release, KN_ENABLE_CUDA=ON,
#                CMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" (sm_90 machine code plus
#                compute_90 PTX, which newer GPUs JIT), Python_EXECUTABLE=python3.
#   build        cmake --build build/gpu (library, _C, GoogleTest suites, benchmarks).
#   ctest-cuda   the CUDA GoogleTest suites (ctest -R '^Cuda': the test_cuda_* binaries,
#                whose suites are all named Cuda*). With a GPU: FAIL if none ran.
#   sanitize     compute-sanitizer --tool memcheck, racecheck, synccheck over each
#                build/gpu/tests/cpp/test_cuda_* binary (--error-exitcode: a report
#                fails). compute-sanitizer not found: FAIL with where it looked.
#   pyinstall    venv build/gpu/venv with --system-site-packages (the machine's torch),
#                pip install --no-build-isolation --no-deps --no-index . (CUDA ON, same
#                architectures, scikit-build-core build dir build/gpu/py).
#   pytest-cuda  tests/python/test_cuda.py and every test marked `cuda`. With a GPU:
#                FAIL if pykernels has no CUDA or none of them ran.
#   bench        python benchmarks/bench.py --device cuda --quick (json + markdown in
#                the logs).
#   ctest        the CPU GoogleTest suites (ctest -E '^Cuda'; thread stress included).
#   pytest       tests/python without the CUDA cases.
#
# Environment (all optional):
#   STEPS             comma/space separated subset of the steps (default: all)
#   OUT               logs go to $OUT/test-gpu (else build/gpu/logs)
#   BUILD_DIR         build tree (default build/gpu)
#   JOBS              parallel build/test jobs (default: nproc)
#   PYTHON            the interpreter with torch (default: python3 on PATH)
#   CUDA_ARCHS        CMAKE_CUDA_ARCHITECTURES (default "90-real;90-virtual")
#   REQUIRE_GPU       1 (default): no GPU is a failure; 0: CUDA steps SKIP instead
#   KN_WERROR         ON to build with -Werror (default OFF: a new compiler's new
#                     warning should not cost the whole GPU session)
#   DEADLINE_S        budget for the whole run in seconds (default 570); a step gets
#                     min(its limit, what is left); steps past it are NOT-RUN
#   TIMEOUT_<STEP>    a step's limit in seconds, e.g. TIMEOUT_BUILD=900,
#                     TIMEOUT_PYTEST_CUDA=300 (step name upper-cased, - -> _)
#   SANITIZER_TOOLS   default "memcheck racecheck synccheck"
#   SANITIZER_ARGS    extra compute-sanitizer options (default "--report-api-errors no":
#                     the suites provoke CUDA API errors on purpose, e.g. a bad device
#                     id, and check the returned status themselves; memory, race and
#                     sync reports stay fatal)
#   SANITIZER_TIMEOUT per compute-sanitizer run, seconds (default 240)
#   SANITIZER_JOBS    compute-sanitizer runs at once (default 4)
#   SANITIZER_GTEST_FILTER   --gtest_filter for the sanitizer runs (default: all)
#   BENCH_ARGS        default "--quick"
#   GTEST_ROOT, GTEST_SOURCE_DIR, CMAKE_PREFIX_PATH   where to find GoogleTest
#
# Outputs in the log directory: <step>.log for each step, summary.txt (one line per
# step: status, seconds, counts; rewritten after every step, so a killed run still has
# it), environment.log, ctest*.xml and pytest*.xml (JUnit), sanitize/<tool>-<suite>.log,
# bench.json and bench.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

# The GPU steps first, so that a run cut short by DEADLINE_S has done those; the CPU
# suites (which CI runs anyway) last.
ALL_STEPS=(gpu configure build ctest-cuda sanitize pyinstall pytest-cuda bench ctest pytest)

usage() { sed -n '3,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

DRY_RUN=0
STEPS=${STEPS:-all}
while (($#)); do
  case $1 in
    -n | --dry-run) DRY_RUN=1 ;;
    --steps) STEPS=${2:?--steps needs a list}; shift ;;
    --steps=*) STEPS=${1#*=} ;;
    --list) printf '%s\n' "${ALL_STEPS[@]}"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
  shift
done
STEPS=${STEPS//,/ }
for s in $STEPS; do
  [[ $s == all || " ${ALL_STEPS[*]} " == *" $s "* ]] ||
    { echo "run.sh: unknown step '$s' (steps: ${ALL_STEPS[*]})" >&2; exit 2; }
done

# ------------------------------------------------------------------ configuration
BUILD=${BUILD_DIR:-$ROOT/build/gpu}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
if [[ -n ${OUT:-} ]]; then LOGS=$OUT/test-gpu; else LOGS=$BUILD/logs; fi
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-$(command -v python3 || true)}
VENV=$BUILD/venv
VPY=$VENV/bin/python
CUDA_ARCHS=${CUDA_ARCHS:-90-real;90-virtual}
REQUIRE_GPU=${REQUIRE_GPU:-1}
KN_WERROR=${KN_WERROR:-OFF}
DEADLINE_S=${DEADLINE_S:-570}
SANITIZER_TOOLS=${SANITIZER_TOOLS:-memcheck racecheck synccheck}
SANITIZER_ARGS=${SANITIZER_ARGS---report-api-errors no}
SANITIZER_TIMEOUT=${SANITIZER_TIMEOUT:-240}
SANITIZER_JOBS=${SANITIZER_JOBS:-4}
SANITIZER_GTEST_FILTER=${SANITIZER_GTEST_FILTER:-}
BENCH_ARGS=${BENCH_ARGS:---quick}
STATE=$BUILD/.test-gpu-state   # facts one step leaves for the next (sourced)
SUMMARY=$LOGS/summary.txt
export ROOT BUILD LOGS JOBS PYTHON VENV VPY CUDA_ARCHS REQUIRE_GPU KN_WERROR DRY_RUN STATE \
  SANITIZER_TOOLS SANITIZER_ARGS SANITIZER_TIMEOUT SANITIZER_JOBS SANITIZER_GTEST_FILTER BENCH_ARGS
# Never reach for the network: pip gets no index, CMake no downloads.
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 CMAKE_BUILD_PARALLEL_LEVEL=$JOBS
export PYTHONDONTWRITEBYTECODE=1

# Default per-step limits (seconds), sized for a 16-core H100 box; the whole run
# should take well under 10 minutes there (the CUDA kernels are compiled twice: by
# the CMake build and by pip's build).
declare -A LIMIT=([gpu]=60 [configure]=180 [build]=420 [ctest]=240 [ctest-cuda]=180
                  [pyinstall]=420 [pytest]=360 [pytest-cuda]=180 [sanitize]=420 [bench]=240)

# ------------------------------------------------------------------ helpers
# Run a command, or in --dry-run print it.
x() {
  if [[ $DRY_RUN == 1 ]]; then
    printf '  +'; printf ' %q' "$@"; printf '\n'
  else
    printf '+'; printf ' %q' "$@"; printf '\n'
    "$@"
  fi
}
# One line of counts for the summary (the step's "details").
detail() { [[ -n ${DETAILS_FILE:-} ]] && printf '%s\n' "$*" >> "$DETAILS_FILE"; printf '%s\n' "-- $*"; }
# Remember a fact for later steps (KEY=VALUE lines, sourced by the driver).
remember() { [[ $DRY_RUN == 1 ]] || printf '%s=%q\n' "$1" "$2" >> "$STATE"; }
# Step exit codes: 0 PASS, 3 SKIP (not applicable here, e.g. no GPU), else FAIL.
readonly SKIP=3
export SKIP

# JUnit XML (ctest --output-junit, pytest --junitxml) -> "tests passed failed skipped".
junit_counts() {
  python3 - "$@" <<'EOF'
import sys, xml.etree.ElementTree as ET
t = p = f = s = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except Exception:
        continue
    for case in root.iter("testcase"):
        t += 1
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            f += 1
        elif "skipped" in kinds or case.get("status") in ("notrun", "disabled"):
            s += 1
        else:
            p += 1
print(t, p, f, s)
EOF
}

# The first of `compute-sanitizer` on PATH, next to nvcc, or in the usual CUDA places.
find_sanitizer() {
  local c
  for c in "$(command -v compute-sanitizer || true)" \
           ${NVCC:+"$(dirname "$NVCC")/compute-sanitizer"} \
           ${CUDA_HOME:+"$CUDA_HOME/bin/compute-sanitizer" "$CUDA_HOME/compute-sanitizer/compute-sanitizer"} \
           /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer \
           /opt/nvidia/compute-sanitizer/compute-sanitizer; do
    [[ -n $c && -x $c ]] && { echo "$c"; return 0; }
  done
  return 1
}

cuda_suites() {  # the CUDA GoogleTest executables of the build
  local f
  for f in "$BUILD"/tests/cpp/test_cuda_*; do
    [[ -f $f && -x $f ]] && echo "$f"
  done
  return 0
}

# ------------------------------------------------------------------ the steps
# Each runs in its own `bash -euo pipefail` under `timeout`, output to <step>.log.

step_gpu() {
  local n=0 name=""
  if command -v nvidia-smi > /dev/null; then
    x nvidia-smi || true
    n=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU ' || true)
    name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -1 || true)
  else
    echo "nvidia-smi not found"
  fi
  if [[ -n $PYTHON ]]; then
    # torch's view: the device the pytest and bench steps will use.
    local tn
    tn=$("$PYTHON" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)' 2>&1 | tail -1) || tn=0
    [[ $tn =~ ^[0-9]+$ ]] || { echo "torch: $tn"; tn=0; }
    echo "torch sees $tn CUDA device(s)"
    ((tn > n)) && n=$tn
  fi
  if ((n > 0)); then
    remember GPU 1
    detail "$n GPU(s)${name:+: $name}"
    return 0
  fi
  remember GPU 0
  if [[ $REQUIRE_GPU == 1 ]]; then
    detail "no GPU visible (nvidia-smi, torch.cuda): every CUDA case would skip; REQUIRE_GPU=0 to run anyway"
    return 1
  fi
  detail "no GPU visible: CUDA steps skip (REQUIRE_GPU=0)"
  return "$SKIP"
}

step_configure() {
  [[ -n $NVCC ]] || { detail "nvcc not found (PATH, \$CUDA_HOME/bin, /usr/local/cuda/bin)"; return 1; }
  [[ -n $PYTHON ]] || { detail "python3 not found"; return 1; }
  # 1. Which optional packages does CMake find here? A throwaway project.
  local probe=$BUILD/probe prefix=${CMAKE_PREFIX_PATH:-}
  mkdir -p "$probe/src"
  cat > "$probe/src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(kn_probe CXX)
find_package(GTest QUIET)
find_package(benchmark QUIET)
message(STATUS "KN_PROBE GTEST=${GTest_FOUND} BENCHMARK=${benchmark_FOUND}")
EOF
  probe_run() {
    rm -rf "$probe/build"
    x cmake -S "$probe/src" -B "$probe/build" ${GTEST_ROOT:+-DGTEST_ROOT="$GTEST_ROOT"} \
      ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} > "$probe/out.txt" 2>&1 || true
    if [[ $DRY_RUN == 1 ]]; then cat "$probe/out.txt"; else grep KN_PROBE "$probe/out.txt" || true; fi
  }
  probe_run
  local gtest=0 bench=0
  grep -q 'KN_PROBE GTEST=1\|KN_PROBE GTEST=TRUE' "$probe/out.txt" 2> /dev/null && gtest=1
  grep -q 'BENCHMARK=1\|BENCHMARK=TRUE' "$probe/out.txt" 2> /dev/null && bench=1
  [[ $DRY_RUN == 1 ]] && gtest=1
  if ((gtest == 0)); then
    # GoogleTest as sources (Debian's libgtest-dev ships /usr/src/googletest): build it
    # into build/gpu/googletest-install. No download.
    local src
    for src in "${GTEST_SOURCE_DIR:-}" /usr/src/googletest /usr/src/gtest; do
      [[ -n $src && -f $src/CMakeLists.txt ]] || continue
      echo "GoogleTest not installed as a CMake package; building it from $src"
      if x cmake -S "$src" -B "$BUILD/googletest" -DCMAKE_BUILD_TYPE=Release -DBUILD_GMOCK=OFF \
           -DCMAKE_INSTALL_PREFIX="$BUILD/googletest-install" -DCMAKE_POSITION_INDEPENDENT_CODE=ON &&
         x cmake --build "$BUILD/googletest" -j "$JOBS" && x cmake --install "$BUILD/googletest"; then
        prefix="$BUILD/googletest-install${prefix:+;$prefix}"
        probe_run
        grep -q 'KN_PROBE GTEST=1\|KN_PROBE GTEST=TRUE' "$probe/out.txt" && gtest=1
      fi
      break
    done
  fi
  remember GTEST "$gtest"
  remember BENCHMARK "$bench"
  local tests=ON benchmarks=OFF
  if ((gtest == 0)); then
    tests=OFF
    echo "!! GoogleTest NOT FOUND (no GTestConfig.cmake / FindGTest hit, no /usr/src/googletest):"
    echo "!! the GoogleTest suites are not built; the ctest, ctest-cuda and sanitize steps will fail."
    echo "!! Fix: install libgtest-dev, or set GTEST_ROOT (an install) or GTEST_SOURCE_DIR (sources)."
  fi
  ((bench)) && benchmarks=ON
  # 2. The real configure.
  local gen=()
  command -v ninja > /dev/null && gen=(-G Ninja)
  if [[ -f $BUILD/CMakeCache.txt ]] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}\$" "$BUILD/CMakeCache.txt"; then
    echo "generator changed: fresh build tree"; rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
  fi
  x cmake -S "$ROOT" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DKN_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS" \
    -DPython_EXECUTABLE="$PYTHON" -DKN_BUILD_PYTHON=ON -DKN_BUILD_TESTS="$tests" \
    -DKN_BUILD_BENCHMARKS="$benchmarks" -DKN_WERROR="$KN_WERROR" ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"}
  [[ $DRY_RUN == 1 ]] && return 0
  local cublas=no
  grep -q 'KN_WITH_CUBLAS\|GEMM through cuBLAS' "$LOGS/configure.log" && cublas=yes
  detail "CUDA ON ($CUDA_ARCHS, cuBLAS $cublas), GoogleTest $( ((gtest)) && echo found || echo 'NOT FOUND: suites not built'), benchmarks $benchmarks"
}

step_build() {
  [[ $DRY_RUN == 1 || -f $BUILD/CMakeCache.txt ]] || { detail "no configured build tree at $BUILD (configure failed?)"; return 1; }
  x cmake --build "$BUILD" -j "$JOBS"
  [[ $DRY_RUN == 1 ]] && return 0
  detail "$(grep -c 'warning' "$LOGS/build.log" || true) warning lines, $(cuda_suites | wc -l) CUDA suites"
}

# ctest over the tests whose names match (-R) or do not match (-E) ^Cuda.
run_ctest() {
  local mode=$1 xml=$2
  if [[ $DRY_RUN != 1 ]]; then
    [[ ${GTEST:-0} == 1 ]] || { detail "GoogleTest was not found at configure: no suites built (see configure.log)"; return 1; }
    [[ -f $BUILD/CTestTestfile.cmake ]] || { detail "no built test tree at $BUILD (build failed?)"; return 1; }
  fi
  local rc=0
  x ctest --test-dir "$BUILD" "$mode" '^Cuda' --no-tests=error -j "$JOBS" --timeout 300 \
    --output-on-failure --output-junit "$xml" || rc=$?
  [[ $DRY_RUN == 1 ]] && return 0
  local t p f s
  read -r t p f s < <(junit_counts "$xml")
  detail "$t tests: $p passed, $f failed, $s skipped"
  echo "$t $p $f $s" > "$xml.counts"
  return "$rc"
}

step_ctest() { run_ctest -E "$LOGS/ctest.xml"; }

step_ctest_cuda() {
  local rc=0
  run_ctest -R "$LOGS/ctest-cuda.xml" || rc=$?
  [[ $DRY_RUN == 1 ]] && return 0
  ((rc == 0)) || return "$rc"
  local t p f s
  read -r t p f s < "$LOGS/ctest-cuda.xml.counts"
  # Without a device only CudaBuild.HasCuda and CudaNoDevice.* can pass.
  if [[ ${GPU:-0} == 1 ]] && ((p <= 2)); then
    detail "a GPU is present but the CUDA cases skipped: they test nothing"; return 1
  fi
  [[ ${GPU:-0} == 1 ]] || detail "no GPU: the CUDA cases skipped"
}

step_pyinstall() {
  [[ -n $PYTHON ]] || { detail "python3 not found"; return 1; }
  if [[ ! -x $VPY ]]; then
    # --system-site-packages: the machine's torch, numpy, pybind11, scikit-build-core.
    x "$PYTHON" -m venv --system-site-packages "$VENV" ||
      x "$PYTHON" -m venv --system-site-packages --without-pip "$VENV"
  fi
  local pip=("$VPY" -m pip)
  if [[ $DRY_RUN != 1 ]] && ! "$VPY" -m pip --version > /dev/null 2>&1; then
    pip=("$PYTHON" -m pip --python "$VPY")  # a venv without pip (no ensurepip): the outer pip
  fi
  CUDACXX=$NVCC x "${pip[@]}" install -v --no-build-isolation --no-deps --no-index \
    -C build-dir="$BUILD/py" -C cmake.define.KN_ENABLE_CUDA=ON \
    -C cmake.define.CMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS" "$ROOT"
  x "$VPY" -c 'import pykernels, torch; print("pykernels", pykernels.__version__, pykernels.__file__, "has_cuda", pykernels.has_cuda(), "| torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
  [[ $DRY_RUN == 1 ]] && return 0
  detail "$("$VPY" -c 'import pykernels, torch; print(f"pykernels has_cuda={pykernels.has_cuda()}, torch {torch.__version__}")')"
}

# pytest from tests/python (as `make test-python`), JUnit XML into the logs.
run_pytest() {
  local xml=$1; shift
  [[ $DRY_RUN == 1 || -x $VPY ]] || { detail "no venv at $VENV (pyinstall failed?)"; return 1; }
  local rc=0
  (cd "$ROOT/tests/python" && x "$VPY" -m pytest -q -p no:cacheprovider -rfEs --junitxml="$xml" "$@") || rc=$?
  return "$rc"
}

step_pytest() {
  local rc=0
  run_pytest "$LOGS/pytest.xml" -m "not cuda" --ignore=test_cuda.py . || rc=$?
  [[ $DRY_RUN == 1 ]] && return 0
  local t p f s
  read -r t p f s < <(junit_counts "$LOGS/pytest.xml")
  detail "$t tests: $p passed, $f failed, $s skipped (pytest exit $rc)"
  return "$rc"
}

step_pytest_cuda() {
  if [[ $DRY_RUN != 1 && ${GPU:-0} == 1 ]]; then
    "$VPY" -c 'import pykernels, sys; sys.exit(0 if pykernels.has_cuda() else 1)' ||
      { detail "a GPU is present but the installed pykernels has no CUDA (pyinstall.log)"; return 1; }
  fi
  local rc=0 rc2=0
  run_pytest "$LOGS/pytest-cuda-file.xml" test_cuda.py || rc=$?
  run_pytest "$LOGS/pytest-cuda-marked.xml" -m cuda . || rc2=$?
  [[ $DRY_RUN == 1 ]] && return 0
  ((rc == 0)) && rc=$rc2
  local t p f s
  read -r t p f s < <(junit_counts "$LOGS/pytest-cuda-file.xml" "$LOGS/pytest-cuda-marked.xml")
  detail "$t tests: $p passed, $f failed, $s skipped"
  if [[ ${GPU:-0} == 1 ]] && ((p == 0)); then
    detail "a GPU is present but every CUDA case skipped"; return 1
  fi
  return "$rc"
}

step_sanitize() {
  local cs
  if ! cs=$(find_sanitizer); then
    detail "compute-sanitizer not found (PATH, next to nvcc, \$CUDA_HOME, /usr/local/cuda, /opt/nvidia)"
    return 1
  fi
  echo "compute-sanitizer: $cs"
  [[ $DRY_RUN == 1 ]] || "$cs" --version | tail -2
  if [[ $DRY_RUN != 1 && ${GPU:-0} != 1 ]]; then detail "no GPU: skipped ($cs found)"; return "$SKIP"; fi
  local suites=()
  mapfile -t suites < <(cuda_suites)
  if [[ $DRY_RUN == 1 ]] && ((${#suites[@]} == 0)); then suites=("$BUILD/tests/cpp/test_cuda_SUITE"); fi
  ((${#suites[@]})) || { detail "no test_cuda_* binaries in $BUILD/tests/cpp (build or GoogleTest missing)"; return 1; }
  rm -rf "$LOGS/sanitize"  # a previous run's logs would be counted
  mkdir -p "$LOGS/sanitize"
  local tool suite log runs=0
  for tool in $SANITIZER_TOOLS; do
    for suite in "${suites[@]}"; do
      log=$LOGS/sanitize/$tool-$(basename "$suite").log
      runs=$((runs + 1))
      if [[ $DRY_RUN == 1 ]]; then
        # shellcheck disable=SC2086  # SANITIZER_ARGS is a list of options
        x timeout -k 10 "$SANITIZER_TIMEOUT" "$cs" --tool "$tool" --error-exitcode 86 $SANITIZER_ARGS \
          "$suite" --gtest_brief=1
        continue
      fi
      while (($(jobs -rp | wc -l) >= SANITIZER_JOBS)); do wait -n || true; done
      (
        rc=0
        # --error-exitcode 86: a sanitizer report; 1: a GoogleTest failure; 124: timeout.
        # shellcheck disable=SC2086  # SANITIZER_ARGS is a list of options
        timeout -k 10 "$SANITIZER_TIMEOUT" "$cs" --tool "$tool" --error-exitcode 86 $SANITIZER_ARGS \
          "$suite" --gtest_brief=1 ${SANITIZER_GTEST_FILTER:+--gtest_filter="$SANITIZER_GTEST_FILTER"} > "$log" 2>&1 || rc=$?
        echo "$rc" > "$log.rc"
      ) &
    done
  done
  wait
  [[ $DRY_RUN == 1 ]] && return 0
  local bad=0 clean=0 line
  for log in "$LOGS"/sanitize/*.log; do
    local rc errors
    rc=$(cat "$log.rc" 2> /dev/null || echo "?")
    errors=$(grep -hoE '(ERROR|RACECHECK) SUMMARY: .*' "$log" | tail -1 || true)
    line="$(basename "$log" .log): exit $rc${errors:+, $errors}"
    echo "$line"
    if [[ $rc == 0 ]]; then clean=$((clean + 1)); else bad=$((bad + 1)); detail "$line"; fi
  done
  detail "$runs runs ($SANITIZER_TOOLS): $clean clean, $bad failed"
  ((bad == 0))
}

step_bench() {
  if [[ $DRY_RUN != 1 && ${GPU:-0} != 1 ]]; then detail "no GPU: skipped"; return "$SKIP"; fi
  [[ $DRY_RUN == 1 || -x $VPY ]] || { detail "no venv at $VENV (pyinstall failed?)"; return 1; }
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
  x "$VPY" "$ROOT/benchmarks/bench.py" --device cuda $BENCH_ARGS --machine-bin '' \
    --json "$LOGS/bench.json" --png '' --markdown "$LOGS/bench.md"
  [[ $DRY_RUN == 1 ]] && return 0
  detail "$(python3 -c 'import json,sys,math; r=json.load(open(sys.argv[1]))["rows"]; q=[x["ratio"] for x in r if x.get("ratio")]; print(f"{len(r)} cases, geometric mean ours/torch {math.exp(sum(map(math.log,q))/len(q)):.2f}" if q else f"{len(r)} cases")' "$LOGS/bench.json")"
}

export -f x detail remember junit_counts find_sanitizer cuda_suites run_ctest run_pytest \
  step_gpu step_configure step_build step_ctest step_ctest_cuda step_pyinstall step_pytest \
  step_pytest_cuda step_sanitize step_bench

# ------------------------------------------------------------------ driver
mkdir -p "$LOGS" "$BUILD"
T0=$SECONDS
RESULTS=()   # "step status seconds details" lines, in order
ANY_BAD=0

want() { [[ " $STEPS " == *" all "* || " $STEPS " == *" $1 "* ]]; }

write_summary() {
  {
    echo "make test-gpu ($(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname), commit $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?'))"
    printf '%-12s %-8s %6s  %s\n' STEP STATUS SECONDS DETAILS
    printf '%s\n' "${RESULTS[@]}"
    if [[ ${1:-} == final ]]; then
      echo "RESULT: $( ((ANY_BAD)) && echo FAIL || echo PASS) in $((SECONDS - T0)) s"
    fi
  } > "$SUMMARY"
}

# Facts found so far (NVCC here; GPU, GTEST, BENCHMARK from steps).
NVCC=$(command -v nvcc || true)
for c in ${CUDA_HOME:+"$CUDA_HOME/bin/nvcc"} /usr/local/cuda/bin/nvcc; do
  [[ -z $NVCC && -x $c ]] && NVCC=$c
done
export NVCC
if [[ -n $NVCC ]]; then
  PATH="$(dirname "$NVCC"):$PATH"
  export PATH
fi
# Earlier runs' facts (STEPS=... reruns a subset) unless the step is rerun now.
# shellcheck source=/dev/null
[[ -f $STATE ]] && source "$STATE"
export GPU=${GPU:-0} GTEST=${GTEST:-0} BENCHMARK=${BENCHMARK:-0}

{
  echo "date:     $(date -u)"
  echo "host:     $(hostname), $(nproc) cores, $(uname -r)"
  echo "root:     $ROOT ($(git -C "$ROOT" rev-parse HEAD 2> /dev/null || echo 'not a git checkout'))"
  echo "nvcc:     ${NVCC:-NOT FOUND} $([[ -n $NVCC ]] && "$NVCC" --version | tail -1)"
  echo "sanitizer: $(find_sanitizer || echo 'NOT FOUND')"
  echo "python:   ${PYTHON:-NOT FOUND} $([[ -n $PYTHON ]] && "$PYTHON" --version 2>&1)"
  echo "cmake:    $(command -v cmake || echo 'NOT FOUND') $(cmake --version 2> /dev/null | head -1)"
  echo "ninja:    $(command -v ninja || echo 'not found (Unix Makefiles)')"
  echo "steps:    $STEPS; deadline ${DEADLINE_S}s; jobs $JOBS; dry run $DRY_RUN"
} > "$LOGS/environment.log" 2>&1 || true
cat "$LOGS/environment.log"
command -v cmake > /dev/null || echo "!! cmake not on PATH: configure and build will fail" >&2

for step in "${ALL_STEPS[@]}"; do
  want "$step" || continue
  fn=step_${step//-/_}
  key=TIMEOUT_${step^^}; key=${key//-/_}
  limit=${!key:-${LIMIT[$step]}}
  if ((DEADLINE_S > 0)); then
    left=$((DEADLINE_S - (SECONDS - T0) - 10))
    ((left < limit)) && limit=$left
  fi
  log=$LOGS/$step.log
  export DETAILS_FILE=$LOGS/.$step.details
  rm -f "$DETAILS_FILE"
  if ((limit < 5)); then
    RESULTS+=("$(printf '%-12s %-8s %6s  %s' "$step" NOT-RUN 0 "out of time (DEADLINE_S=$DEADLINE_S)")")
    ANY_BAD=1; write_summary; continue
  fi
  echo "==> $step (limit ${limit}s, log ${log#"$ROOT"/})"
  start=$SECONDS
  if [[ $DRY_RUN == 1 ]]; then
    bash -euo pipefail -c "$fn" || true
    RESULTS+=("$(printf '%-12s %-8s %6s  %s' "$step" DRY-RUN 0 "")")
    continue
  fi
  # A new run of a step forgets what its earlier run found.
  case $step in
    gpu) sed -i '/^GPU=/d' "$STATE" 2> /dev/null || true ;;
    configure) sed -i '/^GTEST=/d; /^BENCHMARK=/d' "$STATE" 2> /dev/null || true ;;
  esac
  rc=0
  timeout -k 15 "$limit" bash -euo pipefail -c "$fn" > "$log" 2>&1 || rc=$?
  secs=$((SECONDS - start))
  case $rc in
    0) status=PASS ;;
    "$SKIP") status=SKIP ;;
    124 | 137) status=TIMEOUT; echo "timed out after ${limit}s ($key, DEADLINE_S)" >> "$DETAILS_FILE" ;;
    *) status=FAIL ;;
  esac
  [[ $status == PASS || $status == SKIP ]] || ANY_BAD=1
  details=$(awk 'NR > 1 { printf " | " } { printf "%s", $0 }' "$DETAILS_FILE" 2> /dev/null || true)
  [[ $status == FAIL && -z $details ]] && details="exit $rc (see $step.log)"
  RESULTS+=("$(printf '%-12s %-8s %6s  %s' "$step" "$status" "$secs" "$details")")
  echo "    $status in ${secs}s${details:+: $details}"
  if [[ $status != PASS ]]; then tail -n 15 "$log" | sed 's/^/    | /'; fi
  write_summary
  # shellcheck source=/dev/null
  [[ -f $STATE ]] && source "$STATE"
  export GPU=${GPU:-0} GTEST=${GTEST:-0} BENCHMARK=${BENCHMARK:-0}
done

if [[ $DRY_RUN == 1 ]]; then
  echo "(dry run: nothing was run)"
  exit 0
fi
write_summary final
echo
cat "$SUMMARY"
echo "logs: $LOGS"
exit "$ANY_BAD"
