#!/bin/sh
# Builds the libFuzzer targets of fuzz/ with clang++-14 in their own tree
# (the main build is GCC): every library they link instrumented for coverage,
# ASan and UBSan.
#
#   fuzz/build.sh [build-dir]     default: build-fuzz at the repository root
#
# Needs clang-14 and libclang-rt-14-dev (Debian). ccache is used when present.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
clangxx=$(command -v clang++-14 || true)
if [ -z "$clangxx" ]; then
  echo "fuzz/build.sh: clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 77
fi
launcher=
if command -v ccache >/dev/null 2>&1; then launcher=-DCMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  # Warnings stay warnings here: the GCC build holds the -Werror line.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$clangxx" \
    -DINVENTORY_FUZZ=ON -DINVENTORY_BENCH=OFF -DINVENTORY_WERROR=OFF $launcher >/dev/null
fi
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" --target fuzzers
