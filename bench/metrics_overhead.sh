#!/usr/bin/env bash
# The overhead of metrics (issue 15: under 3% of server CPU per operation):
# unary CheckAndReserveStock (command_load, hot scenario) against a fresh
# inventoryd with --metrics=on and with --metrics=off, alternating in one run
# so both see the same machine. Per run, command_load reports the server's CPU
# time (user + system, /proc/<pid>/stat) per call over its load window; this
# prints every run, the median per setting and the ratio on/off, with the
# load average before and after (the figure means little on a busy machine).
#
#   bench/metrics_overhead.sh [BUILD_DIR] [PAIRS] [SECONDS] [CLIENTS]
#   bench/metrics_overhead.sh build 5 5 32
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
pairs=${2:-5}
seconds=${3:-5}
clients=${4:-32}
load=$build/bench/command_load
server=$build/tools/inventoryd
for bin in "$load" "$server"; do
  if [ ! -x "$bin" ]; then
    echo "metrics_overhead.sh: $bin missing; build it: cmake --build $build --target command_load inventoryd" >&2
    exit 1
  fi
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"
declare -a on off
for ((i = 0; i < pairs; i++)); do
  # Alternate which setting goes first, so a drift in load hits both alike.
  if ((i % 2 == 0)); then order="on off"; else order="off on"; fi
  for m in $order; do
    line=$("$load" --inventoryd "$server" --scenario hot --clients "$clients" --seconds "$seconds" \
           --server-flag=--metrics="$m" | tr '\n' ' ')
    us=$(sed -n 's/.*server_cpu_us_per_call=\([0-9.]*\).*/\1/p' <<<"$line")
    calls=$(sed -n 's/.*calls_per_s=\([0-9.]*\).*/\1/p' <<<"$line")
    if [ -z "$us" ]; then
      echo "metrics_overhead.sh: no server CPU figure in: $line" >&2
      exit 1
    fi
    echo "run $((i + 1)) metrics=$m calls_per_s=$calls server_cpu_us_per_call=$us"
    if [ "$m" = on ]; then on+=("$us"); else off+=("$us"); fi
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
m_on=$(median "${on[@]}")
m_off=$(median "${off[@]}")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v on="$m_on" -v off="$m_off" 'BEGIN {
  printf "median server CPU per call: metrics on %.2f us, off %.2f us; ratio on/off %.4f (%+.1f%%; target < +3%%)\n",
         on, off, on / off, (on / off - 1) * 100 }'
