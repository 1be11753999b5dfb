{{/* The chart's name. */}}
{{- define "streamgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: release-chart, or the release when it holds the chart's name. */}}
{{- define "streamgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object; include with (dict "ctx" $ "component" "...") */}}
{{- define "streamgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "streamgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: streamgate
{{- end }}

{{/* Selector labels; include with (dict "ctx" $ "component" "...") */}}
{{- define "streamgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamgate.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "streamgate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret holding the API token, and its key. */}}
{{- define "streamgate.apiTokenSecret" -}}
{{- .Values.apiToken.existingSecret | default (printf "%s-api-token" (include "streamgate.fullname" .)) }}
{{- end }}

{{/* The Secret holding the Redis password; "" when there is none. */}}
{{- define "streamgate.redisSecret" -}}
{{- if .Values.redis.auth.existingSecret }}
{{- .Values.redis.auth.existingSecret }}
{{- else if eq .Values.redis.mode "bundled" }}
{{- printf "%s-redis" (include "streamgate.fullname" .) }}
{{- end }}
{{- end }}

{{- define "streamgate.redisAddr" -}}
{{- if eq .Values.redis.mode "bundled" }}
{{- printf "%s-redis:6379" (include "streamgate.fullname" .) }}
{{- else }}
{{- required "redis.addr is required with redis.mode external" .Values.redis.addr }}
{{- end }}
{{- end }}

{{/* The Redis settings of a streamgate container (env entries). */}}
{{- define "streamgate.redisEnv" -}}
- name: REDIS_ADDR
  value: {{ include "streamgate.redisAddr" . | quote }}
{{- with include "streamgate.redisSecret" . }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.redis.auth.key }}
{{- end }}
{{- if and (eq .Values.redis.mode "external") .Values.redis.masterName }}
- name: REDIS_MASTER_NAME
  value: {{ .Values.redis.masterName | quote }}
{{- end }}
{{- if .Values.redis.db }}
- name: REDIS_DB
  value: {{ .Values.redis.db | quote }}
{{- end }}
{{- if .Values.redis.tls }}
- name: REDIS_TLS
  value: "1"
{{- end }}
{{- if .Values.redis.caSecret }}
- name: REDIS_CA_FILE
  value: /etc/streamgate/redis-ca/ca.crt
{{- end }}
{{- end }}

{{/* Volumes shared by the control plane and the data planes. */}}
{{- define "streamgate.sharedVolumes" -}}
{{- if .Values.hmacKey.existingSecret }}
- name: hmac-key
  secret:
    secretName: {{ .Values.hmacKey.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.hmacKey.key }}
        path: key
{{- end }}
{{- if .Values.redis.caSecret }}
- name: redis-ca
  secret:
    secretName: {{ .Values.redis.caSecret }}
    defaultMode: 0444
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}

{{- define "streamgate.sharedMounts" -}}
{{- if .Values.hmacKey.existingSecret }}
- name: hmac-key
  mountPath: /etc/streamgate/hmac
  readOnly: true
{{- end }}
{{- if .Values.redis.caSecret }}
- name: redis-ca
  mountPath: /etc/streamgate/redis-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* The pod's security context: distroless's nonroot user. */}}
{{- define "streamgate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "streamgate.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* Checks of values that no schema can express. */}}
{{- define "streamgate.validate" -}}
{{- if and (eq .Values.dataplane.mode "agent") .Values.dataplane.dataDir.persistence.enabled }}
{{- fail "dataplane.dataDir.persistence.enabled needs dataplane.mode aggregator: an agent's /data is an emptyDir" }}
{{- end }}
{{- if and .Values.dataplane.hostPorts (ne .Values.dataplane.mode "agent") }}
{{- fail "dataplane.hostPorts needs dataplane.mode agent" }}
{{- end }}
{{- if and (eq .Values.redis.mode "bundled") .Values.redis.addr }}
{{- fail "redis.addr is for redis.mode external; the bundled Redis has its own address" }}
{{- end }}
{{- end }}
