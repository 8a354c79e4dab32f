#!/usr/bin/env bash
# The comparison of issue 9, in one command: the ledger (inventoryd over gRPC,
# unary and BulkReserveStock) against the PostgreSQL and Redis designs it
# replaces, on this machine, in one run.
#
# Starts PostgreSQL and Redis from their Debian packages on loopback, each in
# its own temporary data dir with durable settings (PostgreSQL fsync=on,
# synchronous_commit=on; Redis appendonly yes, appendfsync always), runs
# build/bench/compare_load against all three (it starts inventoryd itself),
# times inventoryd restarts against history size (bench/restart_bench.sh),
# stops the peers (also on failure or ^C), and writes to the output dir:
#   table.md      the table printed at the end (medians over repetitions)
#   results.csv   the same, machine-readable; runs.csv every single run
#   scale.csv     throughput against clients (hot)
#   restart.csv   restart time against history size
#   compare.png   the chart;  machine.txt  date, machine, versions, command
#
#   bench/compare.sh                         full run into bench/results (~20 min)
#   bench/compare.sh --quick --out /tmp/r    1 repetition of 2 s, no restart curve
#   bench/compare.sh --reps 5 --seconds 10 -- --scenarios hot,uniform
#   bench/compare.sh --security ...          also the unary ledger with JWT auth, TLS, both:
#                                            ratios against the plain ledger in table.md
# Flags after `--` go to compare_load (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

build=build
out=bench/results
reps=3
seconds=5
scale_seconds=3
clients=32
restart_sizes="1000000 10000000"
extra=()
security=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --scale-seconds) scale_seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --restart-sizes) restart_sizes=$2; shift 2 ;;
    --no-restart) restart_sizes=""; shift ;;
    --quick) reps=1; seconds=2; scale_seconds=1; restart_sizes=""; shift ;;
    --security) security=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown flag $1" >&2; exit 2 ;;
  esac
done

for bin in "$build/bench/compare_load" "$build/tools/inventoryd" "$build/bench/seed_log"; do
  if [ ! -x "$bin" ]; then
    echo "compare.sh: $bin missing; build it: cmake --build $build --target compare_load inventoryd seed_log" >&2
    exit 1
  fi
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pg_bin" ] || ! command -v redis-server >/dev/null || ! command -v gnuplot >/dev/null; then
  echo "compare.sh: needs postgresql, redis-server and gnuplot (scripts/install-deps.sh)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/compare.XXXXXX)
chmod 755 "$work"
pg_dir="$work/pg"
redis_pid=""
cleanup() {
  set +e
  if [ -f "$pg_dir/data/postmaster.pid" ]; then as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1; fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# PostgreSQL refuses to run as root: run it as the package's postgres user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_postgres() {
  pg_port=$(free_port)
  mkdir -p "$pg_dir/data" "$pg_dir/sock"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$pg_dir"; fi
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >"$work/initdb.log" 2>&1
  cat >>"$pg_dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_dir/sock'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
EOF
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w start >/dev/null
  pg_conninfo="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
}

start_redis() {
  redis_port=$(free_port)
  mkdir -p "$work/redis"
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --appendonly yes \
    --appendfsync always --save "" --daemonize no --logfile "$work/redis/server.log" &
  redis_pid=$!
  for _ in $(seq 50); do
    if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then return; fi
    sleep 0.1
  done
  echo "compare.sh: redis-server did not start" >&2
  exit 1
}

start_postgres
start_redis
echo "postgres on 127.0.0.1:$pg_port ($("$pg_bin/postgres" --version)), redis on 127.0.0.1:$redis_port" >&2
echo "  postgres: fsync=$(as_pg "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -Atc 'SHOW fsync') " \
  "synchronous_commit=$(as_pg "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -Atc 'SHOW synchronous_commit')" >&2
echo "  redis: appendonly=$(redis-cli -p "$redis_port" config get appendonly | tail -1)" \
  "appendfsync=$(redis-cli -p "$redis_port" config get appendfsync | tail -1)" >&2

mkdir -p "$out"
security_systems=()
if [ "$security" = 1 ]; then
  security_systems=(--systems postgres,redis,ledger,ledger-bulk,ledger-jwt,ledger-tls,ledger-jwt-tls)
fi
started=$(date -u '+%Y-%m-%d %H:%M UTC')
"$build/bench/compare_load" --pg "$pg_conninfo" --redis "127.0.0.1:$redis_port" \
  --pg-pid "$(head -1 "$pg_dir/data/postmaster.pid")" --redis-pid "$redis_pid" \
  --inventoryd "$build/tools/inventoryd" --clients "$clients" --repetitions "$reps" --seconds "$seconds" \
  --scale-seconds "$scale_seconds" --out-dir "$out" \
  ${security_systems[@]+"${security_systems[@]}"} ${extra[@]+"${extra[@]}"} || status=$?
status=${status:-0}

# Restart (and, later, projector rebuild) time against history size.
# with_snapshot: the newest snapshot 1M events behind the end (half the log
# at 1M events and below), what --snapshot-every-events=1000000 leaves at worst.
echo "events,restart_s_with_snapshot,restart_s_full_replay,projector_rebuild_s" >"$out/restart.csv"
if [ -n "$restart_sizes" ]; then
  # shellcheck disable=SC2086
  bench/restart_bench.sh "$build" $restart_sizes | tee "$out/restart.txt" | awk '
    $1 ~ /^[0-9]+$/ && /behind/ { snap[$1] = $NF; order[++n] = $1 }
    $1 ~ /^[0-9]+$/ && /replay/ { full[$1] = $NF }
    $1 ~ /^[0-9]+$/ && /rebuild/ { rebuild[$1] = $NF }
    END { for (i = 1; i <= n; i++) { e = order[i]; printf "%s,%.2f,%.2f,%s\n", e, snap[e], full[e], rebuild[e] } }' \
    >>"$out/restart.csv"
  rm -f "$out/restart.txt"
fi

{
  echo "date: $started"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/results' || echo ' (with local changes)')"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "peers: $("$pg_bin/postgres" --version) (fsync=on, synchronous_commit=on); $(redis-server --version | cut -d' ' -f1-3) (appendonly yes, appendfsync always)"
  echo "command: bench/compare.sh$([ "$security" = 1 ] && echo " --security") --reps $reps --seconds $seconds --scale-seconds $scale_seconds --clients $clients --restart-sizes \"$restart_sizes\" ${extra[*]+-- ${extra[*]}}"
} >"$out/machine.txt"

# The chart: throughput per scenario, the scale curve, restart time.
systems=$(head -1 "$out/throughput.dat" | wc -w)
awk -F, 'NR > 1 { printf "%s %s %s\n", $1, ($2 == "" ? "NaN" : $2), ($3 == "" ? "NaN" : $3) }' "$out/restart.csv" \
  >"$work/restart.dat"
restart_rows=$(wc -l <"$work/restart.dat")
gnuplot <<EOF || echo "compare.sh: gnuplot failed; the CSVs are complete" >&2
set terminal pngcairo size 1500,520 font ",10"
set output '$out/compare.png'
set multiplot layout 1,3 title "compare.sh, $started, $(nproc) cores (medians of $reps)"
set title "throughput, $clients clients"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [100:*]
set ylabel "operations/s (log)"
set xtics rotate by -20
set key top right
set grid ytics
plot for [i=2:$systems] '$out/throughput.dat' using i:xtic(1) title columnheader(i)
set title "hot: throughput against clients"
set autoscale y
set style data linespoints
set logscale x 2
set xlabel "clients"
set xtics norotate
unset xtics; set xtics
if ($(wc -l <"$out/scale.dat") > 1) {
  plot for [i=2:$systems] '$out/scale.dat' using 1:i title columnheader(i) pointsize 1.2
} else {
  set label 2 "not measured in this run" at graph 0.3, graph 0.5
  plot [1:2] -1 notitle
  unset label 2
}
set title "inventoryd restart against history"
unset logscale
set logscale x 10
set xlabel "events in the log"
set ylabel "seconds"
set key top left
if ($restart_rows > 0) {
  plot '$work/restart.dat' using 1:2 title "newest snapshot 1M events behind", '' using 1:3 title "full replay"
} else {
  unset logscale
  set xrange [0:1]
  set yrange [0:1]
  set label 1 "not measured in this run" at graph 0.3, graph 0.5
  plot -1 notitle
}
unset multiplot
EOF

echo >&2
echo "results in $out: table.md results.csv runs.csv scale.csv restart.csv compare.png machine.txt" >&2
cat "$out/restart.csv"
exit "$status"
