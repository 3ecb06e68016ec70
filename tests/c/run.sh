#!/usr/bin/env bash
# The C99 install test: build tests/c/example.c against an installed
# libkernels twice -- with pkg-config and with find_package(kernels) -- and
# run both. Exits non-zero if anything fails.
#
#   cmake --install <build> --prefix <prefix>
#   bash tests/c/run.sh <prefix>
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <install prefix>" >&2
  exit 2
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kn-c-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The pkg-config file is in <prefix>/<libdir>/pkgconfig (lib or lib64 or lib/<triplet>).
pcdir=$(dirname "$(find "$prefix" -path '*/pkgconfig/kernels.pc' -print -quit)")
if [[ ! -f "$pcdir/kernels.pc" ]]; then
  echo "run.sh: no kernels.pc under $prefix" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
libdir=$(pkg-config --variable=libdir kernels)

echo "== pkg-config: cc -std=c99 -Wall -Wextra -pedantic -Werror"
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror ${CFLAGS:-} "$here/example.c" -o "$work/example-pkgconfig" ${LDFLAGS:-} \
  $(pkg-config --cflags --libs kernels) -Wl,-rpath,"$libdir"
"$work/example-pkgconfig"

echo "== CMake: find_package(kernels) -> kernels::kernels"
cmake -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/example"

echo "== tests/c: both builds passed"
