#!/usr/bin/env bash
# The overhead of metrics (issue 15: under 3% of server CPU per operation):
# unary CheckAndReserveStock (command_load, hot scenario) against a fresh
# inventoryd with --metrics=on and with --metrics=off, alternating in one run
# so both see the same machine. Per run, command_load reports the server's CPU
# time (user + system, /proc/<pid>/stat) per call over its load window; this
# prints every run, the median per setting and the ratio on/off, with the
# load average before and after (the figure means little on a busy machine).
#
# With --callgrind the measure is repeatable instead: each setting's server
# runs under valgrind --tool=callgrind with instrumentation off, is seeded and
# warmed up, then is instrumented only while command_load runs against it at
# a fixed pace (CALLGRIND_RATE calls/s, default 200, well below what the server
# does under valgrind), so both settings do the same calls in the same wall
# time and the time-driven work (the projector's polls, timers) is alike; the
# figure is the server's instructions (Ir, all threads) per call.
#
#   bench/metrics_overhead.sh [BUILD_DIR] [PAIRS] [SECONDS] [CLIENTS]
#   bench/metrics_overhead.sh build 5 5 32
#   bench/metrics_overhead.sh --callgrind build 1 10 8
#   SERVER=/other/inventoryd bench/metrics_overhead.sh --callgrind build 1 10 8
# SERVER: the inventoryd to measure (default BUILD_DIR/tools/inventoryd), to
# compare two builds (say, before and after a change on the call path).
set -euo pipefail
callgrind=0
if [ "${1:-}" = --callgrind ]; then callgrind=1; shift; fi
rate=${CALLGRIND_RATE:-200}
cd "$(dirname "$0")/.."
build=${1:-build}
pairs=${2:-5}
seconds=${3:-5}
clients=${4:-32}
load=$build/bench/command_load
server=${SERVER:-$build/tools/inventoryd}
for bin in "$load" "$server"; do
  if [ ! -x "$bin" ]; then
    echo "metrics_overhead.sh: $bin missing; build it: cmake --build $build --target command_load inventoryd" >&2
    exit 1
  fi
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) cores)"

# One setting under callgrind: prints "<calls> <Ir>" of the measured window.
callgrind_run() {
  local m=$1 dir out pid addr line calls ir
  dir=$(mktemp -d /tmp/metrics-overhead-XXXXXX)
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/cg.out" \
    "$server" serve --data-dir "$dir/data" --listen 127.0.0.1:0 --snapshot-every-events=0 --metrics="$m" \
    >"$dir/stdout" 2>"$dir/stderr" &
  pid=$!
  for _ in $(seq 600); do grep -q '^listening on ' "$dir/stdout" 2>/dev/null && break; sleep 0.5; done
  addr=$(sed -n 's/^listening on //p' "$dir/stdout")
  [ -n "$addr" ] || { echo "metrics_overhead.sh: inventoryd under valgrind did not start" >&2; kill "$pid"; exit 1; }
  "$load" --target "$addr" --scenario hot --clients "$clients" --seconds 3 >/dev/null  # seed and warm up
  callgrind_control -i on "$pid" >/dev/null
  line=$("$load" --target "$addr" --no-seed --scenario hot --clients "$clients" --seconds "$seconds" --rate "$rate")
  callgrind_control -i off "$pid" >/dev/null
  kill -TERM "$pid"; wait "$pid" || true
  calls=$(sed -n 's/.* calls=\([0-9]*\).*/\1/p' <<<"$line")
  ir=$(cat "$dir"/cg.out* | awk '/^(summary|totals):/ {sum += $2} END {print sum}')
  # Instructions in our metrics code itself (self cost of every metrics::
  # function: recording, the interceptor, the exposition; gRPC's own cost of
  # running an interceptor is not in it).
  mir=$(callgrind_annotate --threshold=100 --inclusive=no "$dir"/cg.out* 2>/dev/null |
        awk '/metrics::/ && index($0, "=>") == 0 {gsub(",", "", $1); sum += $1} END {print sum + 0}')
  rm -rf "$dir"
  echo "$calls $ir $mir"
}

if ((callgrind)); then
  declare -a on_ir off_ir
  for ((i = 0; i < pairs; i++)); do
    for m in on off; do
      read -r calls ir mir < <(callgrind_run "$m")
      per=$(awk -v ir="$ir" -v c="$calls" 'BEGIN {printf "%.0f", ir / c}')
      echo "run $((i + 1)) metrics=$m calls=$calls server_instructions=$ir per_call=$per" \
           "in_metrics_code=$mir ($(awk -v a="$mir" -v b="$ir" 'BEGIN {printf "%.2f", 100 * a / b}')%)"
      if [ "$m" = on ]; then on_ir+=("$per"); else off_ir+=("$per"); fi
    done
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  on_sorted=$(printf '%s\n' "${on_ir[@]}" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
  off_sorted=$(printf '%s\n' "${off_ir[@]}" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
  awk -v on="$on_sorted" -v off="$off_sorted" 'BEGIN {
    printf "median server instructions per call: metrics on %.0f, off %.0f; ratio on/off %.4f (%+.2f%%; target < +3%%)\n",
           on, off, on / off, (on / off - 1) * 100 }'
  exit 0
fi
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
