{{/* Names, labels and the pieces every inventoryd pod shares. */}}

{{- define "inventory-ledger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "inventory-ledger.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "inventory-ledger.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "inventory-ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "inventory-ledger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "inventory-ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
On the writer and its standby: the writer Service selects this label and
readiness decides (a standby is ready only once it took over and serves).
*/}}
{{- define "inventory-ledger.writerLabel" -}}
inventory-ledger/writer: "true"
{{- end -}}

{{- define "inventory-ledger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "inventory-ledger.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "inventory-ledger.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Refuses value combinations the schema cannot express. */}}
{{- define "inventory-ledger.validate" -}}
{{- if and (eq .Values.topology "distributed") (not .Values.kafka.brokers) -}}
{{- fail "kafka.brokers is required with topology=distributed (host:port[,host:port...])" -}}
{{- end -}}
{{- if and .Values.orders.enabled (not (or .Values.orders.brokers .Values.kafka.brokers)) -}}
{{- fail "orders.enabled needs orders.brokers (or kafka.brokers)" -}}
{{- end -}}
{{- if and (eq .Values.probes.type "http") (not .Values.http.enabled) -}}
{{- fail "probes.type=http needs http.enabled: the probes call /health and /ready on the HTTP port (probes.type=http is the default; without HTTP set probes.type=grpc, whose readiness does not wait for the views to catch up)" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.http.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs http.enabled: /metrics is served on the HTTP port" -}}
{{- end -}}
{{- if and (hasPrefix "SASL" .Values.kafka.security.protocol) (not .Values.kafka.security.saslMechanism) -}}
{{- fail "kafka.security.protocol SASL_* needs kafka.security.saslMechanism" -}}
{{- end -}}
{{- if and (hasPrefix "SASL" .Values.kafka.security.protocol) (not .Values.kafka.security.saslSecret) -}}
{{- fail "kafka.security.protocol SASL_* needs kafka.security.saslSecret (a Secret with username and password)" -}}
{{- end -}}
{{- if and .Values.kafka.security.tlsClientCertificate (not .Values.kafka.security.tlsSecret) -}}
{{- fail "kafka.security.tlsClientCertificate needs kafka.security.tlsSecret (a Secret with ca.crt, tls.crt, tls.key)" -}}
{{- end -}}
{{- if and .Values.command.standby.enabled (ne .Values.topology "distributed") -}}
{{- fail "command.standby.enabled needs topology=distributed: the standby follows the writer's Kafka log (the embedded log admits one process)" -}}
{{- end -}}
{{- end -}}

{{/*
The stable DNS name of pod 0 of a StatefulSet behind its headless Service.
Call with dict "root" $ "set" "command" (or "command-standby").
*/}}
{{- define "inventory-ledger.podHost" -}}
{{- $set := printf "%s-%s" (include "inventory-ledger.fullname" .root) .set -}}
{{- printf "%s-0.%s-headless.%s.svc" $set $set .root.Release.Namespace -}}
{{- end -}}

{{/*
The container of one role set. Call with
  dict "root" $ "roles" "command" "writer" true "resources" ...
and, for the warm standby, "standbyOf" <writer pod host> (INVENTORY_STANDBY_*,
readiness only: it serves nothing before it takes over), or, for a writer
that has a standby, "waitFor" <standby pod host> (it does not start while
the standby's gRPC port accepts connections: the standby holds the role).
Settings come from the ConfigMaps as INVENTORY_* variables (envFrom).
*/}}
{{- define "inventory-ledger.container" -}}
{{- $root := .root -}}
{{- $fullname := include "inventory-ledger.fullname" $root -}}
- name: inventoryd
  image: {{ include "inventory-ledger.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  {{- if .waitFor }}
  # The standby took over if its gRPC port accepts connections (it listens
  # only as the writer): a second writer would fence it (on a real Kafka
  # cluster; docs/deploy.md), so this one waits until that pod is gone.
  command: [bash, -c]
  args:
    - |
      trap 'exit 0' TERM INT
      while (exec 3<>/dev/tcp/{{ .waitFor }}/{{ $root.Values.ports.grpc }}) 2>/dev/null; do
        echo "the standby {{ .waitFor }}:{{ $root.Values.ports.grpc }} is the writer; waiting until it is gone" >&2
        sleep 5 & wait $!
      done
      exec inventoryd serve
  {{- else }}
  args: [serve]
  {{- end }}
  env:
    - name: INVENTORY_ROLES
      value: {{ .roles | quote }}
    - name: INVENTORY_DATA_DIR
      value: /data
    - name: INVENTORY_LISTEN
      value: {{ printf "0.0.0.0:%d" (int $root.Values.ports.grpc) | quote }}
    {{- if .standbyOf }}
    - name: INVENTORY_STANDBY_OF
      value: {{ printf "%s:%d" .standbyOf (int $root.Values.ports.grpc) | quote }}
    - name: INVENTORY_STANDBY_POLL_MS
      value: {{ $root.Values.command.standby.pollMs | int64 | quote }}
    - name: INVENTORY_STANDBY_TAKEOVER_AFTER_MS
      value: {{ $root.Values.command.standby.takeoverAfterMs | int64 | quote }}
    {{- end }}
    {{- if $root.Values.http.enabled }}
    - name: INVENTORY_HTTP_LISTEN
      value: {{ printf "0.0.0.0:%d" (int $root.Values.ports.http) | quote }}
    # The caught-up bound of GET /ready (the readiness probe with
    # probes.type: http): 503 while the projector is more events behind.
    - name: INVENTORY_READY_LAG_EVENTS_MAX
      value: {{ $root.Values.probes.readiness.lagEventsMax | int64 | quote }}
    {{- end }}
    {{- /* Authentication (docs/security.md): the mounted Secrets' files. */}}
    {{- if $root.Values.auth.jwtSecret }}
    - name: INVENTORY_AUTH_JWKS
      value: /etc/inventory/jwt/jwks.json
    {{- end }}
    {{- if $root.Values.auth.apiKeysSecret }}
    - name: INVENTORY_AUTH_API_KEYS
      value: /etc/inventory/api-keys/api-keys
    {{- end }}
    {{- if not (or $root.Values.auth.jwtSecret $root.Values.auth.apiKeysSecret) }}
    # No authentication configured: inventoryd refuses a non-loopback address
    # without it, so the pod says so explicitly. Only the NetworkPolicy
    # limits who reaches it; set auth.* for anything beyond a trial.
    - name: INVENTORY_INSECURE_NO_AUTH
      value: "true"
    {{- end }}
    {{- if $root.Values.tls.secret }}
    - name: INVENTORY_TLS_CERT
      value: /etc/inventory/tls/tls.crt
    - name: INVENTORY_TLS_KEY
      value: /etc/inventory/tls/tls.key
    {{- end }}
    {{- with $root.Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  envFrom:
    - configMapRef:
        name: {{ $fullname }}-config
    {{- if .writer }}
    - configMapRef:
        name: {{ $fullname }}-command
    {{- end }}
  ports:
    - name: grpc
      containerPort: {{ $root.Values.ports.grpc }}
      protocol: TCP
    {{- if $root.Values.http.enabled }}
    - name: http
      containerPort: {{ $root.Values.ports.http }}
      protocol: TCP
    {{- end }}
  {{- include "inventory-ledger.probes" (dict "root" $root "standby" .standbyOf) | trim | nindent 2 }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: /data
    - name: tmp
      mountPath: /tmp
    - name: config
      mountPath: /etc/inventory/kafka/client.properties
      subPath: client.properties
      readOnly: true
    {{- with (include "inventory-ledger.secretMounts" $root | trim) }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/*
probes.type http: startup and liveness on /health (the process answers),
readiness on /ready (log open and, with the query role, the views within
probes.readiness.lagEventsMax events of the log). grpc: grpc.health.v1 for
all three, SERVING once the roles are started.
A standby (call with "standby" true) gets readiness only: before it takes
over it serves nothing, so readiness keeps it out of the writer Service and
a startup or liveness probe would kill it; after takeover it is ready.
*/}}
{{- define "inventory-ledger.probes" -}}
{{- if not .standby }}
startupProbe:
  {{- include "inventory-ledger.probeCheck" (dict "root" .root "path" "/health") | nindent 2 }}
  periodSeconds: {{ .root.Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .root.Values.probes.startup.failureThreshold }}
livenessProbe:
  {{- include "inventory-ledger.probeCheck" (dict "root" .root "path" "/health") | nindent 2 }}
  periodSeconds: {{ .root.Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .root.Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .root.Values.probes.liveness.failureThreshold }}
{{- end }}
readinessProbe:
  {{- include "inventory-ledger.probeCheck" (dict "root" .root "path" "/ready") | nindent 2 }}
  periodSeconds: {{ .root.Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .root.Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .root.Values.probes.readiness.failureThreshold }}
{{- end -}}

{{/* What a probe calls: grpc.health.v1, or GET <path> on the HTTP port. */}}
{{- define "inventory-ledger.probeCheck" -}}
{{- if eq .root.Values.probes.type "grpc" -}}
grpc:
  port: {{ .root.Values.ports.grpc }}
{{- else -}}
httpGet:
  path: {{ .path }}
  port: http
{{- end -}}
{{- end -}}

{{/* Secret references, each mounted read-only under /etc/inventory. */}}
{{- define "inventory-ledger.secretList" -}}
{{- $l := list -}}
{{- if .Values.auth.jwtSecret }}{{ $l = append $l (dict "volume" "jwt" "secret" .Values.auth.jwtSecret "path" "/etc/inventory/jwt") }}{{ end -}}
{{- if .Values.auth.apiKeysSecret }}{{ $l = append $l (dict "volume" "api-keys" "secret" .Values.auth.apiKeysSecret "path" "/etc/inventory/api-keys") }}{{ end -}}
{{- if .Values.tls.secret }}{{ $l = append $l (dict "volume" "tls" "secret" .Values.tls.secret "path" "/etc/inventory/tls") }}{{ end -}}
{{- if .Values.kafka.security.saslSecret }}{{ $l = append $l (dict "volume" "kafka-sasl" "secret" .Values.kafka.security.saslSecret "path" "/etc/inventory/kafka/sasl") }}{{ end -}}
{{- if .Values.kafka.security.tlsSecret }}{{ $l = append $l (dict "volume" "kafka-tls" "secret" .Values.kafka.security.tlsSecret "path" "/etc/inventory/kafka/tls") }}{{ end -}}
{{- toJson $l -}}
{{- end -}}

{{- define "inventory-ledger.secretMounts" -}}
{{- range (include "inventory-ledger.secretList" . | fromJsonArray) }}
- name: {{ .volume }}
  mountPath: {{ .path }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "inventory-ledger.secretVolumes" -}}
{{- range (include "inventory-ledger.secretList" . | fromJsonArray) }}
- name: {{ .volume }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Pod-level fields shared by every inventoryd pod. */}}
{{- define "inventory-ledger.podCommon" -}}
serviceAccountName: {{ include "inventory-ledger.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "inventory-ledger.podMetadata" -}}
labels:
  {{- include "inventory-ledger.selectorLabels" .root | nindent 2 }}
  app.kubernetes.io/component: {{ .component }}
  {{- if .writer }}
  {{- include "inventory-ledger.writerLabel" . | nindent 2 }}
  {{- end }}
  {{- with .root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
  {{- with .root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Volumes shared by every inventoryd pod besides "data". */}}
{{- define "inventory-ledger.commonVolumes" -}}
- name: tmp
  emptyDir: {}
- name: config
  configMap:
    name: {{ include "inventory-ledger.fullname" . }}-config
{{- include "inventory-ledger.secretVolumes" . }}
{{- end -}}
