#!/usr/bin/env bash
# Installs the build and test dependencies from Debian packages.
# Idempotent: packages already installed are skipped, and apt-get runs only
# when something is missing. Usable as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  protobuf-compiler libprotobuf-dev libprotoc-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  librocksdb-dev libsimdjson-dev librdkafka-dev
  libboost-dev libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libspdlog-dev libfmt-dev libcli11-dev libjemalloc-dev
  kcat python3-grpcio python3-protobuf bc
  # promtool (alert rule tests, exposition lint) and the Prometheus server of
  # the scrape test; prometheus-cpp-dev is not used (docs/metrics.md says why).
  prometheus
  # bench/compare.sh only (tests never start these): the client libraries the
  # load generator links, the peers it compares against, and the chart.
  libpq-dev libhiredis-dev postgresql redis-server gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
