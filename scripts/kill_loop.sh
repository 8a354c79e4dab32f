#!/bin/sh
# The kill loop (tests/kill_loop.py, docs/reliability.md "Kill loop"): 100
# SIGKILLs of a real inventoryd under load by default.
#
#   scripts/kill_loop.sh [kills] [seed]      default: 100 1
#
# Builds what it runs in ./build (as scripts/test.sh does).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
kills=${1:-100}
seed=${2:-1}
if [ ! -f "$build/CMakeCache.txt" ]; then cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; fi
cmake --build "$build" -j2 --target inventoryd inventoryctl inventory-dev-kafka
exec /usr/bin/python3 "$root/tests/kill_loop.py" "$build/tools/inventoryd" "$build/tools/inventoryctl" \
  "$build/tools/inventory-dev-kafka" "$(command -v kcat)" "$root/proto" --kills "$kills" --seed "$seed"
