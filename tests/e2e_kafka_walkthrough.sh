#!/usr/bin/env bash
# inventoryd on the Kafka log backend, against the development broker
# (librdkafka's mock cluster): the README walk-through runs, a restart
# rebuilds the state from the topic, and a re-run is answered as duplicates.
#
#   e2e_kafka_walkthrough.sh <inventoryd> <inventory-dev-kafka> <walkthrough.py>
set -euo pipefail
inventoryd=$1 broker=$2 walkthrough=$3
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_line() {  # file -> first line, waiting up to 20 s
  for _ in $(seq 1 200); do
    if [ -s "$1" ]; then head -1 "$1"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; return 1
}

"$broker" --topic inventory.events:4 >"$work/broker.out" 2>"$work/broker.err" &
pids+=($!)
addr=$(wait_line "$work/broker.out")

start() {
  : >"$work/serve.out"
  "$inventoryd" serve --data-dir "$work/data" --log-backend kafka --kafka-brokers "$addr" --partitions 4 \
    --listen 127.0.0.1:0 >"$work/serve.out" 2>>"$work/serve.err" &
  server=$!
  pids+=("$server")
  target=$(wait_line "$work/serve.out" | sed 's/^listening on //')
}

start
first=$(timeout 60 /usr/bin/python3 "$walkthrough" "$target")
echo "$first"
grep -q "^item: MUG-BLUE created" <<<"$first"
grep -q "^refused: FAILED_PRECONDITION" <<<"$first"
grep -q "^committed: RESERVATION_STATUS_COMMITTED" <<<"$first"
kill -TERM "$server"; wait "$server"

# A restart without snapshots must rebuild everything from the topic.
rm -rf "$work/data/snapshots"
start
second=$(timeout 60 /usr/bin/python3 "$walkthrough" "$target")
echo "$second"
grep -q "^item: MUG-BLUE duplicate" <<<"$second"
grep -q "^received: on_hand=17 available=17" <<<"$second"
grep -q "events replayed" "$work/serve.err"
kill -TERM "$server"; wait "$server"
echo "1 passed, 0 failed"
