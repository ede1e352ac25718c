{{/* Names, labels and the pieces the pod template shares. */}}

{{- define "sentry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sentry.fullname" -}}
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

{{- define "sentry.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "sentry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sentry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sentry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sentry.labels" -}}
helm.sh/chart: {{ include "sentry.chart" . }}
{{ include "sentry.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sentry.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sentry.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sentry.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.registry }}{{ .Values.image.registry }}/{{ end }}{{ .Values.image.repository }}:{{ $tag }}
{{- end }}

{{- define "sentry.loaderImage" -}}
{{- $img := .Values.driver.loader.initContainer.image }}
{{- $tag := default .Chart.AppVersion $img.tag }}
{{- if $img.registry }}{{ $img.registry }}/{{ end }}{{ $img.repository }}:{{ $tag }}
{{- end }}

{{/* driver.kind, checked: auto, kmod or ebpf. */}}
{{- define "sentry.driverKind" -}}
{{- $kind := .Values.driver.kind | toString }}
{{- if not (has $kind (list "auto" "kmod" "ebpf")) }}
{{- fail (printf "driver.kind must be auto, kmod or ebpf (got %q)" $kind) }}
{{- end }}
{{- $kind }}
{{- end }}

{{/* sentry.yaml: .Values.sentry, with http_output pointed at falcosidekick when enabled
     (Falco's alert JSON, as falcosidekick takes it), and container_engines from
     collectors.containerEngine (sockets as on the host: Sentry prefixes HOST_ROOT). */}}
{{- define "sentry.config" -}}
{{- $cfg := deepCopy .Values.sentry }}
{{- if .Values.falcosidekick.enabled }}
{{- $sk := .Values.falcosidekick }}
{{- $ns := default (include "sentry.namespace" .) $sk.namespace }}
{{- $url := default (printf "http://%s.%s.svc.cluster.local:%v/" $sk.serviceName $ns $sk.listenPort) $sk.url }}
{{- $http := deepCopy (default dict $cfg.http_output) }}
{{- $_ := set $http "enabled" true }}
{{- $_ = set $http "url" $url }}
{{- $_ = set $cfg "http_output" $http }}
{{- $_ = set $cfg "json_output" true }}
{{- $_ = set $cfg "json_include_output_property" true }}
{{- end }}
{{- $engines := deepCopy (default dict $cfg.container_engines) }}
{{- $collect := and .Values.collectors.enabled .Values.collectors.containerEngine.enabled }}
{{- range $name, $engine := .Values.collectors.containerEngine.engines }}
{{- $_ := set $engines $name (dict "enabled" (and $collect $engine.enabled) "sockets" $engine.sockets) }}
{{- end }}
{{- $_ := set $cfg "container_engines" $engines }}
{{- toYaml $cfg }}
{{- end }}

{{/* Every enabled engine's sockets, each once. */}}
{{- define "sentry.sockets" -}}
{{- $sockets := list }}
{{- if and .Values.collectors.enabled .Values.collectors.containerEngine.enabled }}
{{- range $name, $engine := .Values.collectors.containerEngine.engines }}
{{- if $engine.enabled }}
{{- range $engine.sockets }}
{{- $sockets = append $sockets . }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson (uniq $sockets) }}
{{- end }}

{{/* A volume name for a host path: the path's characters, a hash for uniqueness. */}}
{{- define "sentry.socketVolume" -}}
{{- printf "socket-%s" (sha256sum . | trunc 10) }}
{{- end }}

{{- define "sentry.securityContext" -}}
{{- if .Values.containerSecurityContext }}
{{- toYaml .Values.containerSecurityContext }}
{{- else if not .Values.driver.enabled }}
runAsNonRoot: true
runAsUser: 10001
allowPrivilegeEscalation: false
{{- else if and (eq (include "sentry.driverKind" .) "ebpf") .Values.driver.ebpf.leastPrivileged }}
runAsUser: 0
capabilities:
  add: [BPF, PERFMON, SYS_RESOURCE, SYS_PTRACE, SYS_ADMIN]
{{- else }}
runAsUser: 0
privileged: true
{{- end }}
{{- end }}

{{/* Loader arguments implied by driver.kind. */}}
{{- define "sentry.loaderArgs" -}}
{{- $kind := include "sentry.driverKind" . }}
{{- $args := list }}
{{- if eq $kind "ebpf" }}{{ $args = append $args "--ebpf" }}{{ end }}
{{- toJson (concat $args .Values.driver.loader.initContainer.args) }}
{{- end }}

{{/* The host's filesystems under /host, as the driver needs them: /proc and /etc always
     (processes, os-release); for the module /dev, /sys/module, /boot (kernel config),
     /lib/modules and /usr (headers); for the eBPF probe the kernel's BTF. */}}
{{- define "sentry.hostMounts" -}}
- name: proc-fs
  mountPath: /host/proc
  readOnly: true
- name: etc-fs
  mountPath: /host/etc
  readOnly: true
{{- if .kmod }}
- name: dev-fs
  mountPath: /host/dev
- name: sys-module
  mountPath: /host/sys/module
- name: boot-fs
  mountPath: /host/boot
  readOnly: true
- name: lib-modules
  mountPath: /host/lib/modules
  readOnly: true
- name: usr-fs
  mountPath: /host/usr
  readOnly: true
{{- end }}
{{- if .ebpf }}
- name: btf
  mountPath: /host/sys/kernel/btf
  readOnly: true
{{- end }}
{{- end }}
