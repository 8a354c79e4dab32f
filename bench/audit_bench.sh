#!/usr/bin/env bash
# inventoryctl audit over a seeded history: events folded per second, I/O
# included (the embedded log read through a RocksDB secondary instance, every
# record decoded and folded, every invariant checked). Seeds an embedded log
# with N events (bench/seed_log.cc: 1M SKUs x 3 warehouses, then single-line
# reservations committed / released / left open), then runs
# `inventoryctl audit --no-views` R times and prints each run and the median.
# The load average is printed too: on the shared 2-core VM the figures move
# with the neighbours' load.
#
#   bench/audit_bench.sh [build-dir] [events] [runs]   default: build 10000000 5
#   AUDIT_BENCH_DATA=/path reuses (or keeps) the seeded data dir.
#   AUDIT_BENCH_VIEWS=1 runs `audit` with the read-model comparison instead;
#   the data dir must hold views (run `inventoryd serve --roles projector
#   --data-dir DIR` until it is idle, or leave it running: the audit reads
#   beside it).
set -euo pipefail
build=${1:-build}
events=${2:-10000000}
runs=${3:-5}
if [ -n "${AUDIT_BENCH_DATA:-}" ]; then
  data=$AUDIT_BENCH_DATA
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  data=$work/d
fi
if [ ! -d "$data/log" ]; then
  "$build/bench/seed_log" --data-dir "$data" --events "$events" --skus 1000000 >&2
fi

printf '%-5s %-10s %-12s %-10s %-10s %s\n' run wall_s events_per_s user_s sys_s load_1m
rates=()
for i in $(seq 1 "$runs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  views=(--no-views)
  [ "${AUDIT_BENCH_VIEWS:-0}" = 1 ] && views=()
  out=$( { /usr/bin/time -f '%e %U %S' "$build/tools/inventoryctl" --data-dir "$data" --progress never \
            audit "${views[@]}" --json >/dev/null; } 2>&1 | tail -1)
  read -r wall user sys <<<"$out"
  rate=$(echo "$events / $wall" | bc)
  rates+=("$rate")
  printf '%-5s %-10s %-12s %-10s %-10s %s\n' "$i" "$wall" "$rate" "$user" "$sys" "$load"
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
echo "median events/s: $median (target 1000000)"
