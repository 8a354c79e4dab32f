#!/bin/sh
# Runs the seeded simulation (tests/simulation_test.cc) over many seeds, in
# parallel slices, and prints each slice's figures.
#
#   tests/simulation.sh [build-dir] [seeds] [jobs]   default: build 10000 2
#
# A failing seed is printed with the line to replay it alone:
#   INVENTORY_SIM_SEED=<seed> build/tests/simulation_test
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
seeds=${2:-10000}
jobs=${3:-2}
bin=$build/tests/simulation_test
[ -x "$bin" ] || cmake --build "$build" -j2 --target simulation_test
per=$(( (seeds + jobs - 1) / jobs ))
logs=$(mktemp -d)
i=0
while [ $i -lt "$jobs" ]; do
  first=$(( 1 + i * per ))
  n=$per
  if [ $(( first + n - 1 )) -gt "$seeds" ]; then n=$(( seeds - first + 1 )); fi
  INVENTORY_SIM_FIRST_SEED=$first INVENTORY_SIM_SEEDS=$n "$bin" >"$logs/$i.log" 2>&1 &
  i=$(( i + 1 ))
done
status=0
wait || status=1
for f in "$logs"/*.log; do
  grep -E '^simulation:|seed [0-9]+ step' "$f" || true
  if grep -q '\[  FAILED  \]' "$f"; then status=1; fi
done
rm -rf "$logs"
exit $status
