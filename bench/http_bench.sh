#!/usr/bin/env bash
# HTTP/JSON load with wrk against a fresh inventoryd (docs/http.md):
#   reads         GET /api/v1/inventory/{sku} of a random SKU (levels point read)
#   reservations  POST /api/v1/reservations, 1 unit of a random SKU, a new
#                 Idempotency-Key per request
# Usage: bench/http_bench.sh [build dir] [seconds] [connections] [skus]
# Seeds <skus> items (default 1000) with 1,000,000 units each at one
# warehouse through the HTTP API itself, then runs wrk (2 threads) for each
# scenario. wrk shares the machine's two cores with the server: the figures
# are a floor for a separate client machine.
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
connections=${3:-32}
skus=${4:-1000}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "wrk not installed (scripts/install-deps.sh)"; exit 1; }
work=$(mktemp -d)
"$build/tools/inventoryd" serve --data-dir "$work/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --snapshot-every-seconds 0 >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q '^http listening on ' "$work/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^http listening on //p' "$work/out")
[ -n "$addr" ] || { echo "inventoryd did not start:"; cat "$work/err"; exit 1; }
/usr/bin/python3 - "$addr" "$skus" <<'PY'
import http.client, json, sys
host, port = sys.argv[1].rsplit(':', 1)
skus = int(sys.argv[2])
c = http.client.HTTPConnection(host, int(port), timeout=60)
def post(path, body, key):
    c.request('POST', path, json.dumps(body), {'Content-Type': 'application/json', 'Idempotency-Key': key})
    r = c.getresponse(); text = r.read()
    assert r.status == 200, (path, r.status, text)
post('/api/v1/warehouses', {'warehouse': {'warehouse': 'W1', 'name': 'W1', 'region': 'eu', 'priority': 1,
                                          'active': True}}, 'seed-wh')
for start in range(0, skus, 1000):
    items = [{'sku': 'SKU-%d' % i, 'name': 'item %d' % i} for i in range(start, min(skus, start + 1000))]
    post('/api/v1/items/bulk', {'items': items}, 'seed-items-%d' % start)
for i in range(skus):
    post('/api/v1/inventory/receive', {'sku': 'SKU-%d' % i, 'warehouse': 'W1', 'receiveQuantity': 1000000},
         'seed-recv-%d' % i)
PY
sleep 1  # let the projector catch up before the reads
echo "== reads: GET /api/v1/inventory/{sku}, $connections connections, ${seconds}s"
SKUS=$skus wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$here/wrk_levels.lua" "http://$addr"
echo "== reservations: POST /api/v1/reservations, $connections connections, ${seconds}s"
SKUS=$skus wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$here/wrk_reserve.lua" "http://$addr"
