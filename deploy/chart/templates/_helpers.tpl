{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "latch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, suffixed with the chart name unless
it already contains it.
*/}}
{{- define "latch.fullname" -}}
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

{{- define "latch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "latch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "latch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "latch.labels" -}}
helm.sh/chart: {{ include "latch.chart" . }}
{{ include "latch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: latch
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "latch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "latch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: by digest when image.digest is set, else by tag (the
chart's appVersion by default). Never "latest": a tag must be pinned.
*/}}
{{- define "latch.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: \"latest\" is not allowed; pin a version or set image.digest" }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The git credentials Secret name; rendering stops here when it is missing.
*/}}
{{- define "latch.gitSecretName" -}}
{{- required "git.secretName is required: create a Secret with your git credentials (username + password or token, or identity + known_hosts) in the release namespace and pass --set git.secretName=NAME" .Values.git.secretName }}
{{- end }}

{{/*
rbac.extraScaleKinds parsed into a list of {resource, group, kind}; an entry
that is not RESOURCE[.GROUP]/Kind stops the render.
*/}}
{{- define "latch.extraScaleKinds" -}}
{{- $kinds := list }}
{{- range $i, $entry := .Values.rbac.extraScaleKinds }}
{{- $parts := splitList "/" (toString $entry) }}
{{- if or (ne (len $parts) 2) (not (index $parts 0)) (not (index $parts 1)) }}
{{- fail (printf "rbac.extraScaleKinds[%d]: want RESOURCE.GROUP/Kind (e.g. rollouts.argoproj.io/Rollout), got %q" $i (toString $entry)) }}
{{- end }}
{{- $resourceGroup := index $parts 0 }}
{{- $resource := first (splitList "." $resourceGroup) }}
{{- $group := "" }}
{{- if contains "." $resourceGroup }}
{{- $group = trimPrefix (printf "%s." $resource) $resourceGroup }}
{{- end }}
{{- $kinds = append $kinds (dict "resource" $resource "group" $group "kind" (index $parts 1) "flag" (toString $entry)) }}
{{- end }}
{{- toJson $kinds }}
{{- end }}
