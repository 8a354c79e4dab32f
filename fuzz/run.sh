#!/bin/sh
# Runs the libFuzzer targets of fuzz/ (builds them first with fuzz/build.sh).
#
#   fuzz/run.sh [--smoke] [--runs N] [--seconds S] [--build-dir D] [target...]
#
#   --smoke      every target for 20000 executions (what ctest's fuzz_smoke runs)
#   --runs N     every target for N executions (e.g. 10000000)
#   --seconds S  every target for S seconds (default 60 without --runs)
#   --build-dir  the fuzz build tree (default build-fuzz at the repository root)
#   target...    only these (default: all of them)
#
# Each target starts from its committed corpus (fuzz/corpus/<target>) and
# dictionary (fuzz/dict/<target>.dict); inputs it finds go to
# <build-dir>/corpus/<target>, never into the committed corpus (copy the
# interesting ones over by hand, minimised with -merge=1). A crash, a
# sanitizer report or a leak stops the run: its input is saved as
# <build-dir>/artifacts/<target>/crash-* and the script exits 1. Last line
# per target: executions, coverage (cov: edges, ft: features) and corpus size.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
runs=
seconds=
targets=
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) runs=20000 ;;
    --runs) runs=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --build-dir) build=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets="$targets $1" ;;
  esac
  shift
done
all="order_event_fuzz event_codec_fuzz snapshot_fuzz page_token_fuzz http_request_fuzz jwt_fuzz"
targets=${targets:-$all}
if [ -z "$runs" ] && [ -z "$seconds" ]; then seconds=60; fi
set +e
"$root/fuzz/build.sh" "$build"
built=$?
set -e
if [ $built -eq 77 ]; then echo "fuzz: skipped, clang++-14 is not installed"; exit 77; fi
[ $built -eq 0 ] || exit $built
failed=0
for t in $targets; do
  work=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$work" "$artifacts"
  set -- -artifact_prefix="$artifacts/" -print_final_stats=1
  if [ -n "$runs" ]; then set -- "$@" -runs="$runs"; else set -- "$@" -max_total_time="$seconds"; fi
  if [ -f "$root/fuzz/dict/$t.dict" ]; then set -- "$@" -dict="$root/fuzz/dict/$t.dict"; fi
  log=$build/$t.log
  if "$build/fuzz/$t" "$@" "$work" "$root/fuzz/corpus/$t" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed 's/^#[0-9]*[[:space:]]*[A-Z]*[[:space:]]*//')
    echo "$t: ok, $execs executions, $last"
  else
    echo "$t: FAILED (log $log)"
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|Test unit written' "$log" | head -n 20
    failed=1
  fi
done
exit $failed
