#!/usr/bin/env bash
# Restart time of inventoryd against history size: seeds an embedded log with
# N events (bench/seed_log.cc), then times `inventoryd serve` from exec to its
# "listening on" line, with a snapshot 1M events behind the end (what
# --snapshot-every-events=1000000 leaves at worst) and with none (full replay).
# Each figure is the median of 3 starts.
#
#   bench/restart_bench.sh [build-dir] [events...]     default: build 1000000 10000000
set -euo pipefail
build=${1:-build}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

time_start() {  # data dir -> seconds until "listening on"
  local dir=$1 start end
  start=$(date +%s.%N)
  coproc SERVER { exec "$build/tools/inventoryd" serve --data-dir "$dir" --listen 127.0.0.1:0 2>/dev/null; }
  read -r _ <&"${SERVER[0]}"
  end=$(date +%s.%N)
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
  echo "$end - $start" | bc
}

# Hook for projector rebuild time (issue 9): once the projector can rebuild its
# read models from position zero, time that here on the data dir given, as
# time_start does for a restart (on a copy, as above, if it writes), and print
# seconds. Until then: n/a.
time_rebuild() {  # data dir -> seconds, or n/a
  echo n/a
}

median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

printf '%-12s %-22s %s\n' events snapshot restart_s
for n in "${sizes[@]}"; do
  snap_at=$(( n > 1000000 ? n - 1000000 : n / 2 ))
  "$build/bench/seed_log" --data-dir "$work/d-$n" --events "$n" --skus 1000000 --snapshot-at "$snap_at" >&2
  # Clean shutdown saves a fresh snapshot; keep a pristine copy per start.
  runs=()
  for i in 1 2 3; do
    rm -rf "$work/run"; cp -r "$work/d-$n" "$work/run"
    runs+=("$(time_start "$work/run")")
  done
  printf '%-12s %-22s %s\n' "$n" "1M events behind" "$(median3 "${runs[@]}")"
  runs=()
  for i in 1 2 3; do
    rm -rf "$work/run"; cp -r "$work/d-$n" "$work/run"; rm -rf "$work/run/snapshots"
    runs+=("$(time_start "$work/run")")
  done
  printf '%-12s %-22s %s\n' "$n" "none (full replay)" "$(median3 "${runs[@]}")"
  printf '%-12s %-22s %s\n' "$n" "projector rebuild" "$(time_rebuild "$work/d-$n")"
  rm -rf "$work/d-$n"
done
