# libkernels task runner.
#
#   make demo            train LeNet-5 on Fashion-MNIST (ARGS="--compare" etc.)
#   make demo-mlp        the second example: the from-scratch MLP on Fashion-MNIST
#   make demo-gcn        a two-layer GCN (graph convolutions) on Zachary's karate club
#                        (ARGS="--synthetic 100000 --compare", "--dataset cora --root DIR")
#   make demo-rnn        a word's language from its letters: Embedding -> LSTM -> Linear on
#                        ten Debian word lists (ARGS="--compare", "--predict hund chien")
#   make demo-resnet     a residual network (Conv, BatchNorm, adaptive pooling) on Fashion-MNIST,
#                        >= 93% (ARGS="--compare", "--epochs 2")
#   make demo-gpt        a character-level GPT (nanoGPT's architecture: Embedding, LayerNorm,
#                        causal attention, GELU) on Debian's fortune cookies, then a sample
#                        (ARGS="--compare", "--prompt 'Q: ' --temperature 0.6", "--steps 500")
#   make demo-jax        LeNet-5 on Fashion-MNIST in plain JAX (jit, value_and_grad, Adam
#                        written out), every layer on pykernels.jax (XLA FFI), >= 89%
#                        (ARGS="--compare": the pure-JAX twin too, step-time ratio)
#   make profile         per-operator times of one LeNet-5 training step vs torch
#   make test            every test: GoogleTest (ctest), the C install test, pytest, and the
#                        scaffold's self-test (make test-scaffold, ~1 min)
#   make test-sanitize   the GoogleTest suites and the C program built with ASan + UBSan
#                        (build/sanitize; any report fails the run)
#   make test-stress     the thread-stress suite alone (build/cmake), longer with SCALE=N
#                        (KN_STRESS_SCALE: 1 = the CI size, ~10 s; SCALE=50 for a campaign)
#   make test-gpu        on a GPU machine, offline: CUDA build (sm_90), every GoogleTest
#                        suite, pytest with the CUDA cases, compute-sanitizer, bench.py
#                        --device cuda (tests/gpu/run.sh; logs in $OUT/test-gpu or
#                        build/gpu/logs; STEPS=ctest-cuda,sanitize for a subset,
#                        ARGS=--dry-run to print the plan). Needs no apt and no .venv.
#   make fuzz-smoke      every C entry point fuzzed FUZZ_SMOKE_SECONDS (5) s under ASan + UBSan
#                        (tests/fuzz, build/sanitize); any contract violation or report fails it
#   make fuzz SECONDS=600 [ENTRY=kn_conv2d_forward]   a long fuzz campaign: libFuzzer
#                        (build/libfuzzer, corpus build/fuzz-corpus/) when clang++ is installed,
#                        else the loop driver under ASan + UBSan (FUZZ_ENGINE=loop|libfuzzer,
#                        FUZZ_ARGS="--avoid known" etc.; replay lines in the output)
#   make bench           benchmarks (~10 min): Google Benchmark kernels (short runs), then
#                        benchmarks/bench.py: pykernels vs torch, % of the measured machine
#                        limits; writes runs/bench/bench.{json,png} (ARGS="--filter conv --quick",
#                        ARGS="--omp-wait-policy passive" on a loaded machine, etc.)
#   make new-op NAME=softplus PARAMS="beta:float=1.0:nonzero,threshold:float=20.0" [BACKWARD_FROM=input|output]
#                        [TORCH=torch.nn.functional.softplus: the torch function to test against]
#                        scaffold a new element-wise op through every layer (tools/new_op.py;
#                        docs/adding-an-operator.md)
#   make check OP=softplus   the fast loop: rebuild what changed, run that op's GoogleTest and
#                        pytest (its torch and, where it has one, JAX test) against the build
#                        tree (no reinstall); CUDA suite too where built
#                        (stops at the first failure), then whether its formulas vectorised
#   make vec-report OP=softplus   whether GCC vectorised the op's element-wise loops
#   make bench-op OP=softplus   that op vs torch, forward and backward, 4K..16M float32
#   make test-scaffold   the scaffold's own test: generate an op in a copy of the tree, fill its
#                        formulas from tests/scaffold/, build it and pass its tests
#   make install PREFIX=DIR   headers, libkernels.so, CMake package, kernels.pc
#   make clean
#
# `make demo` and `make test` set up everything on a fresh Debian machine:
# missing apt packages, a .venv in the project root with pinned pip packages,
# the CMake build, and the pykernels install into the .venv. Re-running is
# cheap: each step is skipped or incremental when already done.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

ROOT      := $(abspath .)
VENV      := $(ROOT)/.venv
PY        := $(VENV)/bin/python
BUILD     := $(ROOT)/build/cmake
PREFIX    ?= /usr/local
JOBS      ?= $(shell nproc)
ARGS      ?=
# CPU-only torch: this exact version is what CI and the dev setup use. The
# package itself asks only for torch>=2.4 (pyproject.toml).
TORCH_PIN := torch==2.13.0
# JAX (CPU) for pykernels.jax and its tests; the package's extra asks only jax>=0.4.36.
JAX_PIN   := jax==0.10.2 jaxlib==0.10.2
# MKL, the BLAS libkernels loads on Intel CPUs (kernels/internal/blas.cpp says
# why and with what figures); installed without its dependencies (intel-openmp,
# tbb: libkernels runs MKL on libgomp, its GNU threading layer). pip puts
# libmkl_rt.so.3 in .venv/lib, where dlopen does not look: KN_MKL_LIBRARY below
# names it for the C tests and benchmarks; pykernels names it itself.
MKL_PIN   := mkl==2026.2.1
PIP_PKGS  := $(TORCH_PIN) "numpy>=1.22" "pybind11>=2.12" "scikit-build-core>=0.10" \
             "pytest>=7" "cmake>=3.20" ninja matplotlib \
             networkx scipy "expecttest==0.3.0" $(JAX_PIN)
# The word lists of examples/language_id.py (make demo-rnn; its test in make test):
# Debian 12's packages, installing /usr/share/dict/{american-english,ngerman,french,...}
# (examples/wordlists.py).
WORDLIST_PKGS := wamerican wngerman wfrench witalian wspanish wportuguese wdutch wswedish \
             wpolish wdanish
# The text of examples/char_gpt.py (make demo-gpt; its test in make test): Debian's
# fortune cookies, /usr/share/games/fortunes/{computers,literature,...}.
FORTUNE_PKGS := fortunes
APT_PKGS  := g++ make ccache pkg-config libopenblas-dev libopenblas0-openmp libgtest-dev libbenchmark-dev \
             dataset-fashion-mnist python3-venv $(WORDLIST_PKGS) $(FORTUNE_PKGS)
CMAKE     := $(VENV)/bin/cmake
# ccache (when installed; CMakeLists.txt picks it up) shares compiled objects
# between clones and worktrees of the project: paths under the root are
# hashed relative to it, and the build directory does not enter the hash.
export CCACHE_BASEDIR   ?= $(ROOT)
export CCACHE_NOHASHDIR ?= 1
CMAKE_ARGS ?=
export KN_MKL_LIBRARY ?= $(VENV)/lib/libmkl_rt.so.3
# One build at a time per tree: a second build (or pyinstall) started while one
# runs is refused with a message (tools/locked), never mixed.
LOCK      := $(ROOT)/tools/locked $(ROOT)/build/.build.lock

.PHONY: new-op check vec-report bench-op test-scaffold build-sanitize demo demo-mlp demo-gcn demo-rnn demo-resnet demo-gpt demo-jax profile test bench install clean setup apt venv build pyinstall \
        test-cpp test-c test-python test-sanitize test-stress test-gpu fuzz fuzz-smoke

# ---------------------------------------------------------------- set-up
apt:
	@missing=""
	for p in $(APT_PKGS); do
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"
	done
	if [ -n "$$missing" ]; then
	  echo "==> apt-get install$$missing"
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"
	  $$SUDO apt-get update -qq
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing
	fi

$(VENV)/.installed: Makefile pyproject.toml
	@echo "==> python venv at $(VENV)"
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(PIP_PKGS)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps $(MKL_PIN)
	touch $@

venv: $(VENV)/.installed

setup: apt venv

# ---------------------------------------------------------------- build
$(BUILD)/CMakeCache.txt: | setup
	$(CMAKE) -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DPython_EXECUTABLE=$(PY) -DKN_WERROR=ON $(CMAKE_ARGS)

build: setup $(BUILD)/CMakeCache.txt
	$(LOCK) $(CMAKE) --build $(BUILD) -j $(JOBS)

# pykernels into the venv (scikit-build-core; incremental in build/py).
pyinstall: setup
	$(LOCK) $(PY) -m pip install -q --no-build-isolation --disable-pip-version-check .

# ---------------------------------------------------------------- tasks
demo: setup pyinstall
	$(PY) examples/lenet_fashion_mnist.py $(ARGS)

demo-mlp: setup pyinstall
	$(PY) examples/mlp_fashion_mnist.py $(ARGS)

demo-gcn: setup pyinstall
	$(PY) examples/gcn.py $(ARGS)

demo-rnn: setup pyinstall
	$(PY) examples/language_id.py $(ARGS)

demo-resnet: setup pyinstall
	$(PY) examples/resnet_fashion_mnist.py $(ARGS)

demo-gpt: setup pyinstall
	$(PY) examples/char_gpt.py $(ARGS)

demo-jax: setup pyinstall
	$(PY) examples/lenet_jax.py $(ARGS)

profile: setup pyinstall
	$(PY) -m pykernels.torch.profile $(ARGS)

test-cpp: build
	@echo "==> GoogleTest (ctest)"
	# Per-test lines are noise at ~1500 cases: keep failures and the summary.
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) | grep -vE '^ *(Start +[0-9]+|[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed)'


test-c: build
	@echo "==> C99 program against the installed library (pkg-config and find_package)"
	rm -rf $(ROOT)/build/prefix
	$(CMAKE) --install $(BUILD) --prefix $(ROOT)/build/prefix > /dev/null
	PATH=$(VENV)/bin:$$PATH bash tests/c/run.sh $(ROOT)/build/prefix

test-python: pyinstall
	@echo "==> pytest"
	cd tests/python && $(PY) -m pytest -q -p no:cacheprovider .

test: test-cpp test-c test-python test-scaffold

# ---------------------------------------------------------------- sanitizers
# A second build tree with -fsanitize=address,undefined everywhere (KN_SANITIZE
# in CMakeLists.txt); CPU only, no Python module, no benchmarks. A UBSan or
# ASan report aborts the process, so ctest counts it as a failed test.
# Warnings are not errors here: GCC 12 with -fsanitize reports false
# -Wmaybe-uninitialized in libstdc++'s <regex> (the Release build keeps -Werror).
SAN_BUILD := $(ROOT)/build/sanitize
# Not detect_stack_use_after_return: its fake stack frames do not keep the
# 64-byte alignment of alignas(64) locals, and the AVX-512 kernels' aligned
# stores into them (the element-wise kernels) then fault under ASan only.
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
# The sanitized runs load OpenBLAS: with MKL's threads alive at exit,
# LeakSanitizer's tracer itself crashes ("Tracer caught signal 11", 1 run in 4 of
# test_thread_stress). The GEMM tests then run again on MKL without leak checking,
# so the MKL path (loader, per-call thread counts) is under ASan + UBSan too.
SAN_BLAS  := KN_BLAS=openblas
SAN_MKL_TESTS := GemmLadder|^Gemm\.|ThreadStress|^Linear|Conv2d
$(SAN_BUILD)/CMakeCache.txt: | setup
	$(CMAKE) -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKN_SANITIZE=ON \
	  -DKN_ENABLE_CUDA=OFF -DKN_BUILD_PYTHON=OFF -DKN_BUILD_BENCHMARKS=OFF -DKN_WERROR=OFF

build-sanitize: setup $(SAN_BUILD)/CMakeCache.txt
	$(LOCK) $(CMAKE) --build $(SAN_BUILD) -j $(JOBS)

test-sanitize: build-sanitize
	@echo "==> GoogleTest under ASan + UBSan ($(SAN_BUILD))"
	$(SAN_BLAS) ctest --test-dir $(SAN_BUILD) --output-on-failure -j $(JOBS) | grep -vE '^ *(Start +[0-9]+|[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed)'
	if [ -e "$$KN_MKL_LIBRARY" ] && [ "$$(grep -c GenuineIntel /proc/cpuinfo)" != 0 ]; then
	  echo "==> the GEMM tests on MKL under ASan + UBSan (no leak check)"
	  KN_BLAS=mkl ASAN_OPTIONS=$(ASAN_OPTIONS):detect_leaks=0 ctest --test-dir $(SAN_BUILD) \
	    --output-on-failure -j $(JOBS) -R '$(SAN_MKL_TESTS)' | grep -vE '^ *(Start +[0-9]+|[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed)'
	fi
	@echo "==> C99 program under ASan + UBSan"
	rm -rf $(ROOT)/build/sanitize-prefix
	$(CMAKE) --install $(SAN_BUILD) --prefix $(ROOT)/build/sanitize-prefix > /dev/null
	$(SAN_BLAS) PATH=$(VENV)/bin:$$PATH CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" bash tests/c/run.sh $(ROOT)/build/sanitize-prefix

# ---------------------------------------------------------------- thread stress
# 8 threads x mixed ops and thread counts vs serial bits (tests/cpp/test_thread_stress.cpp;
# it also runs in `make test`). SCALE multiplies the number of calls.
SCALE ?= 1
test-stress: build
	KN_STRESS_SCALE=$(SCALE) $(BUILD)/tests/cpp/test_thread_stress

# ---------------------------------------------------------------- GPU machine
# No dependency on setup/apt/venv: the GPU machine has no network. It uses the
# machine's own python3 (with torch), cmake, nvcc; everything in build/gpu.
test-gpu:
	STEPS="$(STEPS)" OUT="$(OUT)" bash tests/gpu/run.sh $(ARGS)

# ---------------------------------------------------------------- fuzzing
# tests/fuzz: one harness over every kn_* entry point (tests/fuzz/README.md).
# fuzz_capi is the seeded loop driver (any compiler), fuzz_capi_libfuzzer the
# libFuzzer target (clang). Every failure prints a one-line replay command.
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SEED   ?= 1
FUZZ_ARGS   ?=
SECONDS     ?= 600
ENTRY       ?=
# libFuzzer needs clang++ with libFuzzer and an OpenMP runtime for clang (libomp-dev).
FUZZ_ENGINE ?= $(if $(shell printf '\043include <omp.h>\nextern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return omp_get_max_threads() * 0; }\n' | \
                 clang++ -fopenmp -fsanitize=fuzzer -x c++ - -o /dev/null 2>/dev/null && echo yes),libfuzzer,loop)
FUZZ_BUILD  := $(ROOT)/build/libfuzzer
FUZZ_DRIVER := $(SAN_BUILD)/tests/fuzz/fuzz_capi
# test-sanitize's options (see there why not detect_stack_use_after_return).
FUZZ_ASAN_OPTIONS ?= $(ASAN_OPTIONS)

fuzz-smoke: setup $(SAN_BUILD)/CMakeCache.txt
	$(CMAKE) --build $(SAN_BUILD) -j $(JOBS) --target fuzz_capi
	@echo "==> fuzz smoke: every C entry point $(FUZZ_SMOKE_SECONDS) s under ASan + UBSan (seed $(FUZZ_SEED))"
	$(SAN_BLAS) ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) $(FUZZ_DRIVER) --all --seconds $(FUZZ_SMOKE_SECONDS) --seed $(FUZZ_SEED) \
	  --keep-going $(FUZZ_ARGS)

# clang with libFuzzer: the library gets coverage instrumentation too.
$(FUZZ_BUILD)/CMakeCache.txt: | setup
	CC=clang CXX=clang++ $(CMAKE) -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DKN_SANITIZE=ON -DKN_ENABLE_CUDA=OFF -DKN_BUILD_PYTHON=OFF -DKN_BUILD_BENCHMARKS=OFF \
	  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link

fuzz: setup
ifeq ($(FUZZ_ENGINE),libfuzzer)
	$(MAKE) --no-print-directory $(FUZZ_BUILD)/CMakeCache.txt
	$(CMAKE) --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_capi_libfuzzer
	corpus=$(ROOT)/build/fuzz-corpus/$(or $(ENTRY),all)
	mkdir -p $$corpus $(ROOT)/build/fuzz-artifacts
	@echo "==> libFuzzer $(SECONDS) s, $(or $(ENTRY),every entry), corpus $$corpus"
	echo "    replay a crash: $(FUZZ_BUILD)/tests/fuzz/fuzz_capi_libfuzzer build/fuzz-artifacts/crash-... (KN_FUZZ_VERBOSE=1)"
	$(SAN_BLAS) ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) LSAN_OPTIONS=suppressions=$(ROOT)/tests/fuzz/lsan.supp \
	  KN_FUZZ_ENTRY=$(ENTRY) $(FUZZ_BUILD)/tests/fuzz/fuzz_capi_libfuzzer $$corpus -max_total_time=$(SECONDS) \
	  -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$(ROOT)/build/fuzz-artifacts/ $(FUZZ_ARGS)
else
	$(MAKE) --no-print-directory $(SAN_BUILD)/CMakeCache.txt
	$(CMAKE) --build $(SAN_BUILD) -j $(JOBS) --target fuzz_capi
	@echo "==> fuzz_capi $(SECONDS) s under ASan + UBSan, $(or $(ENTRY),every entry)"
	$(SAN_BLAS) ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) $(FUZZ_DRIVER) $(if $(ENTRY),--entry $(ENTRY),--all) --budget $(SECONDS) \
	  --keep-going $(FUZZ_ARGS)
endif

bench: build pyinstall
	@echo "==> CPU and run-time ISA paths (kn_cpu_info)"
	$(PY) -c "import pykernels; print(pykernels.cpu_info())"
	@echo "==> Google Benchmark: kernels through the C ABI (short runs)"
	for b in $(BUILD)/benchmarks/bench_*; do
	  [ -f "$$b" ] && [ -x "$$b" ] || continue
	  [ "$$(basename $$b)" = bench_machine ] && continue   # bench.py runs it for the limits
	  echo "--- $$(basename $$b)"
	  "$$b" --benchmark_min_time=0.05
	done
	@echo "==> pykernels vs torch (benchmarks/bench.py)"
	$(PY) benchmarks/bench.py --machine-bin $(BUILD)/benchmarks/bench_machine \
	  --json runs/bench/bench.json --png runs/bench/bench.png $(ARGS)
	@echo "==> element-wise ops written with the scaffold vs torch (benchmarks/elementwise_vs_torch.py)"
	$(PY) benchmarks/elementwise_vs_torch.py --sizes 4096,4194304

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

# ---------------------------------------------------------------- a new operator
NAME          ?=
PARAMS        ?=
BACKWARD_FROM ?= input
TORCH         ?=
OP            ?=
new-op: venv
	@[ -n "$(NAME)" ] || { echo 'usage: make new-op NAME=softplus PARAMS="beta:float=1.0:nonzero" [BACKWARD_FROM=input|output]'; exit 2; }
	$(PY) tools/new_op.py $(NAME) --params "$(PARAMS)" --backward-from $(BACKWARD_FROM) \
	  $(if $(TORCH),--torch $(TORCH)) $(ARGS)

# The fast loop: only OP's targets (its test binary, the Python module and
# whatever they depend on) are rebuilt, and pytest imports the source tree's
# pykernels with the build tree's _C (PYKERNELS_BUILD_DIR): no pip install.
check: setup $(BUILD)/CMakeCache.txt
	@[ -n "$(OP)" ] || { echo "usage: make check OP=<name>   (e.g. OP=softplus)"; exit 2; }
	# A new op's files are globbed: reconfigure when the build does not know its test yet.
	ninja -C $(BUILD) -t query test_$(OP) > /dev/null 2>&1 || $(CMAKE) $(BUILD) > /dev/null
	cuda=$$(ninja -C $(BUILD) -t query test_cuda_$(OP) > /dev/null 2>&1 && echo test_cuda_$(OP) || true)
	# The JAX FFI module, where the build has it (jax importable at configure time).
	jax=$$(ninja -C $(BUILD) -t query _jax_ffi > /dev/null 2>&1 && echo _jax_ffi || true)
	# The C++ autograd node of the element-wise ops, where the build has it (torch importable).
	node=$$(ninja -C $(BUILD) -t query _torch_ext > /dev/null 2>&1 && echo _torch_ext || true)
	$(LOCK) $(CMAKE) --build $(BUILD) -j $(JOBS) --target test_$(OP) $$cuda _C $$jax $$node
	# Both stop at the first failure: one clear message, not hundreds.
	@echo "==> GoogleTest: test_$(OP)"
	$(BUILD)/tests/cpp/test_$(OP) --gtest_brief=1 --gtest_fail_fast
	[ -z "$$cuda" ] || $(BUILD)/tests/cpp/test_cuda_$(OP) --gtest_brief=1 --gtest_fail_fast
	@echo "==> pytest: tests/python/test_$(OP).py (source tree + build tree's _C)"
	cd tests/python && PYKERNELS_BUILD_DIR=$(BUILD) PYTHONPATH=$(ROOT)/pytorch_glue \
	  $(PY) -m pytest -q -x -p no:cacheprovider test_$(OP).py $(ARGS)
	# pykernels.jax's test of the op, where it has one (it skips without _jax_ffi;
	# exit 5: ARGS selected none of its tests)
	if [ -f $(ROOT)/tests/python/test_jax_$(OP).py ]; then
	  echo "==> pytest: tests/python/test_jax_$(OP).py"
	  cd $(ROOT)/tests/python && PYKERNELS_BUILD_DIR=$(BUILD) PYTHONPATH=$(ROOT)/pytorch_glue \
	    $(PY) -m pytest -q -x -p no:cacheprovider test_jax_$(OP).py $(ARGS) || [ $$? -eq 5 ]
	fi
	@echo "==> did the compiler vectorise the formulas? (tools/vec_report.py)"
	$(PY) $(ROOT)/tools/vec_report.py $(BUILD) $(OP)

vec-report: setup $(BUILD)/CMakeCache.txt
	@[ -n "$(OP)" ] || { echo "usage: make vec-report OP=<name>"; exit 2; }
	$(PY) $(ROOT)/tools/vec_report.py $(BUILD) $(OP)

bench-op: setup $(BUILD)/CMakeCache.txt
	@[ -n "$(OP)" ] || { echo "usage: make bench-op OP=<name>"; exit 2; }
	$(LOCK) $(CMAKE) --build $(BUILD) -j $(JOBS) --target _C
	PYKERNELS_BUILD_DIR=$(BUILD) PYTHONPATH=$(ROOT)/pytorch_glue \
	  $(PY) benchmarks/elementwise_vs_torch.py --op $(OP) $(ARGS)

test-scaffold: setup
	PY=$(PY) VENV=$(VENV) bash tests/scaffold/run.sh

clean:
	rm -rf build dist *.egg-info
