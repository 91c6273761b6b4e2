{{/* The chart's name, shortened to what a label value allows. */}}
{{- define "driftwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the release's objects. */}}
{{- define "driftwarden.fullname" -}}
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

{{- define "driftwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "driftwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "driftwarden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "driftwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: driftwarden
{{- end }}

{{- define "driftwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "driftwarden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "driftwarden.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The subject every binding names: the operator's ServiceAccount. */}}
{{- define "driftwarden.subject" -}}
- kind: ServiceAccount
  name: {{ include "driftwarden.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/* With rbac.scope Namespaced: the namespaces watched (rbac.namespaces and the release
namespace), as a JSON list. */}}
{{- define "driftwarden.watchNamespaces" -}}
{{- append .Values.rbac.namespaces .Release.Namespace | uniq | toJson }}
{{- end }}

{{/* The PromQL label matchers that select this installation's series:
metrics.prometheusRule.selector, else the release namespace. */}}
{{- define "driftwarden.promSelector" -}}
{{- default (printf "namespace=%q" .Release.Namespace) .Values.metrics.prometheusRule.selector }}
{{- end }}

{{/* A list of PromQL label matchers (empty ones left out) as a selector's braces. */}}
{{- define "driftwarden.matchers" -}}
{{ "{" }}{{ join ", " (compact .) }}{{ "}" }}
{{- end }}
