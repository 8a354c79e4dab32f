#!/usr/bin/env bash
# Checks of the inventory-ledger chart, offline once the tools are installed:
#   * helm lint --strict and helm template for the defaults and every
#     ci/*-values.yaml, each rendered object validated against the Kubernetes
#     API schema (check_chart.mjs validate) with the kinds each set must have;
#   * every INVENTORY_* variable the chart sets is one `inventoryd serve
#     --help` lists;
#   * by default the query replicas and the embedded pod are ready on
#     GET /ready, with the caught-up bound passed as the
#     --ready-lag-events-max flag's variable (default: the binary's);
#   * the Kafka settings reach every pod as INVENTORY_KAFKA_CONFIG, secrets by
#     reference only, and inventoryd accepts the rendered file;
#   * the warm standby (command.standby): --standby-of the writer pod's DNS
#     name and port, its own PVC, readiness only, the writer Service selecting
#     both, the writer's wait loop (run here against a local port), the
#     schema's bounds equal to inventoryd's;
#   * values the chart must refuse are refused, with a message naming them;
#   * every values.yaml key is read by a template and listed in README.md,
#     and the check itself fails on a chart with an unused key.
#
#   helm/test.sh <inventoryd binary>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
inventoryd=${1:?usage: helm/test.sh <inventoryd binary>}
chart=$here/inventory-ledger
"$here/install-tools.sh"
helm=$here/node_modules/.bin/helm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
# chart_check <ok message> <failure message> <check_chart.mjs arguments...>
chart_check() {
  local good=$1 failure=$2
  shift 2
  if (cd "$here" && node check_chart.mjs "$@"); then ok "$good"; else bad "$failure"; fi
}

"$inventoryd" serve --help >"$work/help.txt"
accepted=$(grep -o 'INVENTORY_[A-Z][A-Z_]*' "$work/help.txt" | sort -u)
[ -n "$accepted" ] || { echo "FAIL: inventoryd serve --help lists no INVENTORY_* variable"; exit 1; }

# name|values file|kinds that must be rendered exactly so
sets=(
  "defaults||StatefulSet=1 Deployment=0 HorizontalPodAutoscaler=0 NetworkPolicy=1 ServiceMonitor=0"
  "embedded|ci/embedded-values.yaml|StatefulSet=1 Deployment=0 ConfigMap=2 Service=2 PodDisruptionBudget=0"
  "distributed|ci/distributed-values.yaml|StatefulSet=1 Deployment=1 HorizontalPodAutoscaler=0 PodDisruptionBudget=1 Service=3"
  "distributed-tls-auth|ci/distributed-tls-auth-values.yaml|StatefulSet=1 Deployment=1 HorizontalPodAutoscaler=1 PodDisruptionBudget=1"
  "distributed-standby|ci/distributed-standby-values.yaml|StatefulSet=2 Deployment=1 Service=4 PodDisruptionBudget=1 HorizontalPodAutoscaler=0"
  "monitoring|ci/monitoring-values.yaml|ServiceMonitor=1 PrometheusRule=1 Deployment=1 StatefulSet=1"
)
for s in "${sets[@]}"; do
  IFS='|' read -r name file kinds <<<"$s"
  args=()
  [ -n "$file" ] && args=(-f "$chart/$file")
  if "$helm" lint --strict "$chart" "${args[@]}" >"$work/$name.lint" 2>&1; then
    ok "$name: helm lint --strict"
  else
    bad "$name: helm lint --strict"; cat "$work/$name.lint"
  fi
  if ! "$helm" template inv "$chart" --namespace shop "${args[@]}" >"$work/$name.yaml" 2>"$work/$name.err"; then
    bad "$name: helm template"; cat "$work/$name.err"; continue
  fi
  expect=()
  for k in $kinds; do expect+=(--expect "$k"); done
  chart_check "$name: every object valid, kinds as expected" \
    "$name: validation" \
    validate "$work/$name.yaml" "${expect[@]}"
  unknown=$(grep -o 'INVENTORY_[A-Z][A-Z_]*' "$work/$name.yaml" | sort -u | comm -23 - <(echo "$accepted") || true)
  if [ -z "$unknown" ]; then
    ok "$name: every INVENTORY_* variable is one inventoryd accepts"
  else
    bad "$name: variables inventoryd does not accept: $unknown"
  fi
done

# The distributed set runs the roles the binary knows, on the Kafka backend.
grep -q 'value: "command"' "$work/distributed.yaml" && grep -q 'value: "projector,query"' "$work/distributed.yaml" \
  && grep -q 'INVENTORY_LOG_BACKEND: kafka' "$work/distributed.yaml" \
  && ok "distributed: command and projector,query pods on the kafka backend" \
  || bad "distributed: roles or backend not as expected"

# Readiness tied to catch-up by default: GET /ready on the embedded pod
# (defaults) and on the query replicas (distributed sets no probe values),
# the bound passed as INVENTORY_READY_LAG_EVENTS_MAX, the variable of
# inventoryd's --ready-lag-events-max, and by default the binary's default.
bound_line=$(grep -e '--ready-lag-events-max' "$work/help.txt" || true)
binary_bound=$(sed -n 's/.*--ready-lag-events-max UINT=\([0-9][0-9]*\).*/\1/p' <<<"$bound_line")
if grep -q 'Env:INVENTORY_READY_LAG_EVENTS_MAX' <<<"$bound_line" && [ -n "$binary_bound" ]; then
  ok "INVENTORY_READY_LAG_EVENTS_MAX is the variable of inventoryd's --ready-lag-events-max (default $binary_bound)"
else
  bad "inventoryd serve --help has no --ready-lag-events-max UINT=<n> (Env:INVENTORY_READY_LAG_EVENTS_MAX): '$bound_line'"
  binary_bound=none
fi
chart_check "defaults: the embedded pod is ready on GET /ready, bound $binary_bound as inventoryd's default" \
  "defaults: the embedded pod's readiness is not GET /ready with the binary's bound" \
  readiness "$work/defaults.yaml" "$binary_bound" StatefulSet/all
chart_check "distributed: query replicas (and the writer) ready on GET /ready, bound $binary_bound" \
  "distributed: readiness of the query replicas is not GET /ready with the binary's bound" \
  readiness "$work/distributed.yaml" "$binary_bound" Deployment/query StatefulSet/command
for t in embedded distributed; do
  targs=(--set probes.readiness.lagEventsMax=4321)
  want=StatefulSet/all
  [ "$t" = distributed ] && targs+=(-f "$chart/ci/distributed-values.yaml") && want=Deployment/query
  if "$helm" template inv "$chart" "${targs[@]}" >"$work/bound-$t.yaml" 2>"$work/bound-$t.err" \
    && (cd "$here" && node check_chart.mjs readiness "$work/bound-$t.yaml" 4321 "$want"); then
    ok "$t: probes.readiness.lagEventsMax=4321 reaches inventoryd as INVENTORY_READY_LAG_EVENTS_MAX=4321"
  else
    bad "$t: probes.readiness.lagEventsMax=4321 not passed to inventoryd"; cat "$work/bound-$t.err"
  fi
done
# The gRPC option (ci/embedded: http off): no HTTP server, no /ready probe.
if grep -q -e 'INVENTORY_HTTP_LISTEN' -e 'INVENTORY_READY_LAG_EVENTS_MAX' -e 'path: /ready' "$work/embedded.yaml"; then
  bad "embedded (http.enabled=false, probes.type=grpc): HTTP settings or an HTTP probe rendered"
elif grep -q -A1 'readinessProbe:' "$work/embedded.yaml" && grep -A1 'readinessProbe:' "$work/embedded.yaml" | grep -q 'grpc:'; then
  ok "embedded (http.enabled=false, probes.type=grpc): gRPC readiness, no HTTP settings"
else
  bad "embedded (http.enabled=false, probes.type=grpc): no gRPC readiness probe"
fi
# Order settings reach only the writer: on a query pod inventoryd refuses to
# start ("--orders-brokers needs the command role").
if (cd "$here" && node --input-type=module -e '
  import fs from "node:fs"; import YAML from "yaml";
  const objs = YAML.parseAllDocuments(fs.readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
  const refs = (kind) => objs.filter((o) => o.kind === kind)
    .flatMap((o) => o.spec.template.spec.containers[0].envFrom.map((e) => e.configMapRef.name));
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-command"));
  const ok = cm.data.INVENTORY_ORDERS_BROKERS && refs("StatefulSet").includes(cm.metadata.name)
    && !refs("Deployment").includes(cm.metadata.name);
  process.exit(ok ? 0 : 1);' "$work/distributed-tls-auth.yaml"); then
  ok "distributed-tls-auth: order settings on the writer only"
else
  bad "distributed-tls-auth: order settings missing from the writer or present on query pods"
fi
# Kafka security (kafka.security.*): every pod of the SASL_SSL set reads the
# settings through INVENTORY_KAFKA_CONFIG, the file names the mounted
# Secrets' files and holds no secret itself; then inventoryd itself is
# given that file (its /etc/inventory paths pointed at stand-in files) and
# must accept every line, as it does at a pod's start.
chart_check "distributed-tls-auth: every pod reads client.properties via INVENTORY_KAFKA_CONFIG, secrets by reference" \
  "distributed-tls-auth: Kafka settings not wired to every pod, or a secret in the ConfigMap" \
  kafka "$work/distributed-tls-auth.yaml" "$work/client.properties"
grep -q 'sasl.password.file=' "$work/client.properties" 2>/dev/null \
  && ok "distributed-tls-auth: the SASL password comes from the saslSecret's file" \
  || bad "distributed-tls-auth: no sasl.password.file line in client.properties"
mkdir -p "$work/etc/kafka/sasl" "$work/etc/kafka/tls" "$work/kafka-data"
printf 'inventory\n' >"$work/etc/kafka/sasl/username"
printf 'not-a-real-password\n' >"$work/etc/kafka/sasl/password"
: >"$work/etc/kafka/tls/ca.crt"
sed "s#/etc/inventory/kafka/#$work/etc/kafka/#g" "$work/client.properties" >"$work/client.local.properties" 2>/dev/null || true
"$inventoryd" serve --kafka-config "$work/client.local.properties" --data-dir "$work/kafka-data" \
  --listen 127.0.0.1:0 >"$work/kafka-serve.out" 2>"$work/kafka-serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on' "$work/kafka-serve.out" && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
if grep -q '^listening on' "$work/kafka-serve.out"; then
  ok "distributed-tls-auth: inventoryd accepts the rendered client.properties"
else
  bad "distributed-tls-auth: inventoryd refused the rendered client.properties"; cat "$work/kafka-serve.err"
fi
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
grep -q 'not-a-real-password' "$work/kafka-serve.err" \
  && bad "inventoryd printed the SASL password" || ok "inventoryd did not print the SASL password"
# The warm standby (command.standby.*; ci/distributed-standby-values.yaml
# sets pollMs 250, takeoverAfterMs 20000, a 15Gi fast-ssd PVC; the chart's
# defaults are 500, 30000, 10Gi and the default class).
chart_check "distributed-standby: --standby-of the writer pod's DNS name, own PVC, readiness only, Service, wait loop, NetworkPolicy" \
  "distributed-standby: the standby or its wiring is not as expected" \
  standby "$work/distributed-standby.yaml" shop 250 20000 15Gi fast-ssd
if "$helm" template inv "$chart" --namespace ledger --set topology=distributed --set kafka.brokers=kafka:9092 \
    --set command.standby.enabled=true >"$work/standby-defaults.yaml" 2>"$work/standby-defaults.err" \
  && (cd "$here" && node check_chart.mjs standby "$work/standby-defaults.yaml" ledger 500 30000 10Gi ""); then
  ok "command.standby defaults reach the standby (500 ms, 30000 ms, 10Gi)"
else
  bad "command.standby defaults not as README.md says"; cat "$work/standby-defaults.err"
fi
chart_check "distributed-standby: the standby is ready on the writer's GET /ready" \
  "distributed-standby: the standby's readiness is not GET /ready" \
  readiness "$work/distributed-standby.yaml" "$binary_bound" StatefulSet/command-standby StatefulSet/command
for t in distributed distributed-tls-auth; do
  chart_check "$t: no standby, the writer starts inventoryd directly" \
    "$t: standby pieces rendered without command.standby.enabled" \
    nostandby "$work/$t.yaml"
done
chart_check "distributed-standby: writer, standby and query pods read client.properties via INVENTORY_KAFKA_CONFIG" \
  "distributed-standby: a Kafka-talking pod lacks the Kafka settings" \
  kafka "$work/distributed-standby.yaml" "$work/client-standby.properties"
# The schema's bounds of pollMs / takeoverAfterMs are inventoryd's own.
for pair in pollMs:--standby-poll-ms takeoverAfterMs:--standby-takeover-after-ms; do
  key=${pair%%:*} flag=${pair#*:}
  binary_range=$(sed -n "s/.*$flag INT:INT in \[\([0-9]*\) - \([0-9]*\)\].*/\1 \2/p" "$work/help.txt")
  schema_range=$(node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const p = s.properties.command.properties.standby.properties[process.argv[2]];
    console.log(p.minimum + " " + p.maximum);' "$chart/values.schema.json" "$key")
  if [ -n "$binary_range" ] && [ "$binary_range" = "$schema_range" ]; then
    ok "command.standby.$key: schema range $schema_range is $flag's"
  else
    bad "command.standby.$key: schema range '$schema_range', inventoryd's $flag '$binary_range'"
  fi
done
# The writer's wait loop, run (inventoryd a stand-in that says it started):
# with the standby's name unresolvable (no standby pod) it starts at once;
# with something listening on the port (the standby took over) it waits,
# and starts once the port closes; a SIGTERM while it waits ends it.
(cd "$here" && node -e 'const YAML = require("yaml"); const fs = require("fs");
  const objs = YAML.parseAllDocuments(fs.readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
  const w = objs.find((o) => o.kind === "StatefulSet" && o.metadata.labels["app.kubernetes.io/component"] === "command");
  fs.writeFileSync(process.argv[2], (w.spec.template.spec.containers[0].args ?? [""])[0]);' \
  "$work/distributed-standby.yaml" "$work/wait.sh") || : >"$work/wait.sh"
mkdir -p "$work/bin"
printf '#!/bin/sh\necho "started $*"\n' >"$work/bin/inventoryd"
chmod +x "$work/bin/inventoryd"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -E "s#/dev/tcp/[^/]+/[0-9]+#/dev/tcp/127.0.0.1/$port#" "$work/wait.sh" >"$work/wait-local.sh"
listen() {  # listen on $port for $1 seconds, in the background
  python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(float(sys.argv[2]))' "$port" "$1" &
  listener=$!
  # Until it accepts (python's start alone takes about 1 s on a loaded machine).
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}
if grep -q '/dev/tcp/' "$work/wait.sh" \
  && [ "$(PATH="$work/bin:$PATH" timeout 10 bash -c "$(cat "$work/wait.sh")" 2>/dev/null)" = "started serve" ]; then
  ok "the writer's wait loop starts inventoryd serve when the standby pod does not resolve"
else
  bad "the writer's wait loop did not start inventoryd serve with no standby pod"
fi
listen 3
PATH="$work/bin:$PATH" bash -c "$(cat "$work/wait-local.sh")" >"$work/wait.out" 2>"$work/wait.err" &
waiter=$!
sleep 1.5
early=$(cat "$work/wait.out")
wait "$listener" || true
for _ in $(seq 1 100); do kill -0 "$waiter" 2>/dev/null || break; sleep 0.1; done
if [ -z "$early" ] && grep -q 'is the writer; waiting' "$work/wait.err" && [ "$(cat "$work/wait.out")" = "started serve" ]; then
  ok "the writer's wait loop waits while the standby's port accepts, then starts inventoryd serve"
else
  bad "the writer's wait loop: before the port closed '$early', after '$(cat "$work/wait.out")'"; cat "$work/wait.err"
fi
kill "$waiter" 2>/dev/null || true
listen 10
PATH="$work/bin:$PATH" bash -c "$(cat "$work/wait-local.sh")" >"$work/wait.out" 2>/dev/null &
waiter=$!
sleep 1
kill -TERM "$waiter"
for _ in $(seq 1 80); do kill -0 "$waiter" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$waiter" 2>/dev/null && wait "$waiter" && [ ! -s "$work/wait.out" ]; then
  ok "the writer's wait loop ends on SIGTERM without starting inventoryd"
else
  bad "the writer's wait loop did not end cleanly on SIGTERM"; kill "$waiter" 2>/dev/null || true
fi
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
grep -q 'InventoryOversell' "$work/monitoring.yaml" && ok "monitoring: the PrometheusRule carries the rules file" \
  || bad "monitoring: no InventoryOversell rule rendered"

# name|--set arguments|text the error must contain
refusals=(
  "distributed without brokers|--set topology=distributed|kafka.brokers is required"
  "unknown topology|--set topology=sharded|topology"
  "unknown key|--set query.replica=3|replica"
  "partitions out of range|--set ledger.partitions=0|partitions"
  "HTTP off with the default HTTP probes|--set http.enabled=false|probes.type=http needs http.enabled"
  "negative readiness bound|--set probes.readiness.lagEventsMax=-1|lagEventsMax"
  "ServiceMonitor without http|--set http.enabled=false --set probes.type=grpc --set metrics.serviceMonitor.enabled=true|needs http.enabled"
  "SASL without mechanism|--set kafka.security.protocol=SASL_SSL|saslMechanism"
  "SASL without a Secret|--set kafka.security.protocol=SASL_SSL --set kafka.security.saslMechanism=PLAIN|saslSecret"
  "Kafka mTLS without tlsSecret|--set kafka.security.tlsClientCertificate=true|needs kafka.security.tlsSecret"
  "rules file outside the chart|--set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.rulesFile=../monitoring/x.yaml|rulesFile"
  "a standby in the embedded topology|--set command.standby.enabled=true|command.standby.enabled needs topology=distributed"
  "a standby poll below inventoryd's range|--set topology=distributed --set kafka.brokers=k:9092 --set command.standby.enabled=true --set command.standby.pollMs=5|pollMs"
  "a takeover bound above inventoryd's range|--set topology=distributed --set kafka.brokers=k:9092 --set command.standby.takeoverAfterMs=600001|takeoverAfterMs"
  "an unknown standby key|--set command.standby.replicas=2|replicas"
)
for r in "${refusals[@]}"; do
  IFS='|' read -r name sets_ text <<<"$r"
  # shellcheck disable=SC2086
  if "$helm" template inv "$chart" $sets_ >"$work/refused.out" 2>&1; then
    bad "refuses $name: helm template succeeded"
  elif grep -q -- "$text" "$work/refused.out"; then
    ok "refuses $name"
  else
    bad "refuses $name: the error does not say '$text'"; cat "$work/refused.out"
  fi
done

chart_check "values.yaml keys all used and documented" "values.yaml keys" values "$chart"
# The keys check fails when it should: a copy with an unused key.
cp -r "$chart" "$work/chart-copy"
printf '\nunusedSetting: 1\n' >>"$work/chart-copy/values.yaml"
if (cd "$here" && node check_chart.mjs values "$work/chart-copy") >"$work/copy.out" 2>&1; then
  bad "the keys check passed a chart with an unused key"
elif grep -q 'unusedSetting is never read' "$work/copy.out" && grep -q 'unusedSetting is missing from the values table' "$work/copy.out"; then
  ok "the keys check names an unused, undocumented key"
else
  bad "the keys check failed without naming the key"; cat "$work/copy.out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
