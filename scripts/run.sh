#!/usr/bin/env bash
# Installs the dependencies, builds inventoryd and runs `inventoryd serve` on
# the embedded log in ./data, gRPC on 127.0.0.1:50051. Extra arguments go to
# `inventoryd serve` (see `build/tools/inventoryd serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target inventoryd
exec build/tools/inventoryd serve "$@"
