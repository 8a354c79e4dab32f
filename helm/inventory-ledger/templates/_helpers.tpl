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
{{- end -}}

{{/*
The container of one role set. Call with
  dict "root" $ "component" "command" "roles" "command"
Settings come from the ConfigMaps as INVENTORY_* variables (envFrom).
*/}}
{{- define "inventory-ledger.container" -}}
{{- $root := .root -}}
{{- $fullname := include "inventory-ledger.fullname" $root -}}
- name: inventoryd
  image: {{ include "inventory-ledger.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args: [serve]
  env:
    - name: INVENTORY_ROLES
      value: {{ .roles | quote }}
    - name: INVENTORY_DATA_DIR
      value: /data
    - name: INVENTORY_LISTEN
      value: {{ printf "0.0.0.0:%d" (int $root.Values.ports.grpc) | quote }}
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
  {{- include "inventory-ledger.probes" $root | trim | nindent 2 }}
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
*/}}
{{- define "inventory-ledger.probes" -}}
{{- if eq .Values.probes.type "grpc" }}
startupProbe:
  grpc:
    port: {{ .Values.ports.grpc }}
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
livenessProbe:
  grpc:
    port: {{ .Values.ports.grpc }}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  grpc:
    port: {{ .Values.ports.grpc }}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- else }}
startupProbe:
  httpGet:
    path: /health
    port: http
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /health
    port: http
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /ready
    port: http
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- end }}
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
