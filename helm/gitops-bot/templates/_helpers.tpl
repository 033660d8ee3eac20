{{/* Chart name, overridable. */}}
{{- define "gitops-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects. A release named like the chart (`gitops-bot`) gives plain
`gitops-bot`, the Service name that config/flux/provider.yaml addresses.
*/}}
{{- define "gitops-bot.fullname" -}}
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

{{- define "gitops-bot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gitops-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitops-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gitops-bot.labels" -}}
helm.sh/chart: {{ include "gitops-bot.chart" . }}
{{ include "gitops-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gitops-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gitops-bot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is given, else repository:tag (tag defaults to appVersion). */}}
{{- define "gitops-bot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Paths inside the container; the image (Dockerfile) uses the same ones. */}}
{{- define "gitops-bot.stateDir" -}}/var/lib/gitops-bot{{- end }}
{{- define "gitops-bot.configDir" -}}/etc/gitops-bot{{- end }}
{{- define "gitops-bot.sshDir" -}}/var/run/secrets/gitops-bot/ssh{{- end }}

{{/*
bot.yaml: values.config with state_dir forced onto the state volume. A relative state_dir would
resolve next to the config file, inside the read-only ConfigMap mount.
*/}}
{{- define "gitops-bot.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $_ := set $config "state_dir" (include "gitops-bot.stateDir" .) }}
{{- toYaml $config }}
{{- end }}

{{/* REGISTRY_<HOST>: the bot's own rule (bot/adapters/registry_auth.py) - non-alphanumerics to "_", upper-cased. */}}
{{- define "gitops-bot.registryEnvPrefix" -}}
{{- printf "REGISTRY_%s" (regexReplaceAll "[^A-Za-z0-9]" . "_" | upper) }}
{{- end }}

{{/* One env entry read from existingSecret. Args: (list $ "NAME" optional). */}}
{{- define "gitops-bot.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.existingSecret }}
      key: {{ index . 1 }}
      optional: {{ index . 2 }}
{{- end }}
