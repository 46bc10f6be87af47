{{/*
Names and labels.
*/}}
{{- define "weir.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "weir.fullname" -}}
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

{{/* The headless Service: gossip peers (cluster mode) and the StatefulSet's stable network identity. */}}
{{- define "weir.headlessName" -}}
{{- printf "%s-headless" (include "weir.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "weir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "weir.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "weir.labels" -}}
helm.sh/chart: {{ include "weir.chart" . }}
{{ include "weir.selectorLabels" . }}
app.kubernetes.io/version: {{ include "weir.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: weir
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "weir.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "weir.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "weir.imageTag" -}}
{{- default .Chart.AppVersion (toString (default "" .Values.image.tag)) }}
{{- end }}

{{- define "weir.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "weir.imageTag" .) }}
{{- end }}
{{- end }}

{{/* StatefulSet when SQLite lives on a PersistentVolumeClaim per pod, Deployment otherwise. */}}
{{- define "weir.workloadKind" -}}
{{- if and (eq .Values.storage.mode "sqlite") .Values.storage.sqlite.persistence.enabled -}}
StatefulSet
{{- else -}}
Deployment
{{- end }}
{{- end }}

{{/* weir.gossip: the pods gossip (cluster mode with its counters in memberlist, i.e. every mode but redis). */}}
{{- define "weir.gossip" -}}
{{- if and .Values.weir.cluster.enabled (ne .Values.weir.cluster.counters "redis") -}}
true
{{- end }}
{{- end }}

{{- define "weir.headlessEnabled" -}}
{{- if or (include "weir.gossip" .) (eq (include "weir.workloadKind" .) "StatefulSet") -}}
true
{{- end }}
{{- end }}

{{/* Fixed paths inside the pod. */}}
{{- define "weir.configDir" -}}/etc/weir{{- end }}
{{- define "weir.configPath" -}}/etc/weir/config.yaml{{- end }}
{{- define "weir.dataDir" -}}/var/lib/weir{{- end }}

{{/*
weir.snake converts a values tree to the config file's form: map keys camelCase -> snake_case (recursively),
null and "" values dropped (the gateway's defaults apply). The values of keys that hold data rather than field
names (headers, deployments, providerLimits) are copied untouched. Returns {"v": result} as JSON; call it as
  (include "weir.snake" (dict "v" $x) | fromJson).v
*/}}
{{- define "weir.snake" -}}
{{- $v := .v -}}
{{- $out := $v -}}
{{- if kindIs "map" $v -}}
{{- $out = dict -}}
{{- range $k, $x := $v -}}
{{- if not (or (kindIs "invalid" $x) (and (kindIs "string" $x) (eq $x ""))) -}}
{{- if has $k (list "headers" "deployments" "providerLimits" "provider_limits") -}}
{{- $_ := set $out (snakecase $k) $x -}}
{{- else -}}
{{- $_ := set $out (snakecase $k) (include "weir.snake" (dict "v" $x) | fromJson).v -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "slice" $v -}}
{{- $out = list -}}
{{- range $x := $v -}}
{{- $out = append $out (include "weir.snake" (dict "v" $x) | fromJson).v -}}
{{- end -}}
{{- end -}}
{{- dict "v" $out | toJson -}}
{{- end }}

{{/* The environment variable that carries keys[j] of provider p when given as a secretRef. */}}
{{- define "weir.providerKeyEnvName" -}}
{{- printf "WEIR_PROVIDER_%s_KEY_%d" (regexReplaceAll "[^A-Z0-9]" (upper .name) "_") (int .index) -}}
{{- end }}

{{/* A value that may be a secret: only a "${VAR}" reference is accepted in the ConfigMap. */}}
{{- define "weir.requireRef" -}}
{{- if and .value (not (regexMatch "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" (toString .value))) -}}
{{- fail (printf "%s must be a \"${ENV_VAR}\" reference (put the secret in a Secret and the variable in weir.extraEnv or weir.envFromSecrets, or use keys[].secretRef): secrets are never written into the ConfigMap" .path) -}}
{{- end -}}
{{- end }}

{{/* Checks that a {name, key} secret reference has both parts when it has a name. */}}
{{- define "weir.checkSecretRef" -}}
{{- if and .ref.name (not .ref.key) -}}
{{- fail (printf "%s.key is required when %s.name is set" .path .path) -}}
{{- end -}}
{{- end }}

{{/*
weir.config renders Weir's config file from .Values.weir and .Values.storage.
*/}}
{{- define "weir.config" -}}
{{- $w := .Values.weir -}}
{{- $cfg := dict -}}

{{- /* server: the listen address is fixed by the chart; the rest only when set. */ -}}
{{- $server := (include "weir.snake" (dict "v" (omit (default dict $w.server) "addr")) | fromJson).v -}}
{{- $_ := set $server "addr" (printf "0.0.0.0:%d" (int .Values.containerPort)) -}}
{{- $_ := set $cfg "server" $server -}}

{{- /* client: camelCase values -> snake_case keys (initialPoolSize -> initial_pool_size, ...). */ -}}
{{- $client := (include "weir.snake" (dict "v" (default dict $w.client)) | fromJson).v -}}
{{- if $client }}{{ $_ := set $cfg "client" $client }}{{ end -}}

{{- /* providers: API keys become ${VAR} references; literal secrets are refused. */ -}}
{{- $providers := list -}}
{{- range $i, $p := (default list $w.providers) -}}
{{- if not $p.name }}{{ fail (printf "weir.providers[%d].name is required" $i) }}{{ end -}}
{{- if not $p.type }}{{ fail (printf "weir.providers[%d].type is required" $i) }}{{ end -}}
{{- $keys := list -}}
{{- range $j, $k := (default list $p.keys) -}}
{{- $key := omit $k "secretRef" -}}
{{- if $k.secretRef -}}
{{- if $k.value }}{{ fail (printf "weir.providers[%d].keys[%d]: set value or secretRef, not both" $i $j) }}{{ end -}}
{{- if not (and $k.secretRef.name $k.secretRef.key) }}{{ fail (printf "weir.providers[%d].keys[%d].secretRef needs name and key" $i $j) }}{{ end -}}
{{- $_ := set $key "value" (printf "${%s}" (include "weir.providerKeyEnvName" (dict "name" $p.name "index" $j))) -}}
{{- else -}}
{{- include "weir.requireRef" (dict "value" $k.value "path" (printf "weir.providers[%d].keys[%d].value" $i $j)) -}}
{{- end -}}
{{- $keys = append $keys $key -}}
{{- end -}}
{{- range $f := list "secretAccessKey" "sessionToken" -}}
{{- include "weir.requireRef" (dict "value" (index $p $f) "path" (printf "weir.providers[%d].%s" $i $f)) -}}
{{- end -}}
{{- $prov := omit $p "keys" -}}
{{- if $keys }}{{ $_ := set $prov "keys" $keys }}{{ end -}}
{{- $providers = append $providers (include "weir.snake" (dict "v" $prov) | fromJson).v -}}
{{- end -}}
{{- $_ := set $cfg "providers" $providers -}}

{{- with $w.models }}{{ $_ := set $cfg "models" (include "weir.snake" (dict "v" .) | fromJson).v }}{{ end -}}
{{- with $w.routing }}{{ $_ := set $cfg "routing" (include "weir.snake" (dict "v" .) | fromJson).v }}{{ end -}}

{{- /* governance: only when enabled; its store follows storage.mode. */ -}}
{{- if $w.governance.enabled -}}
{{- range $i, $vk := (default list $w.governance.virtualKeys) -}}
{{- include "weir.requireRef" (dict "value" $vk.value "path" (printf "weir.governance.virtualKeys[%d].value" $i)) -}}
{{- end -}}
{{- $gov := (include "weir.snake" (dict "v" (omit $w.governance "enabled" "store")) | fromJson).v -}}
{{- if eq .Values.storage.mode "postgres" -}}
{{- $_ := set $gov "store" (dict "driver" "postgres" "dsn" "${WEIR_POSTGRES_DSN}") -}}
{{- else -}}
{{- $_ := set $gov "store" (dict "driver" "sqlite" "dsn" (printf "%s/%s" (include "weir.dataDir" .) .Values.storage.sqlite.file)) -}}
{{- end -}}
{{- $_ := set $cfg "governance" $gov -}}
{{- end -}}

{{- /* cluster: only when enabled; peers join through the headless Service's DNS name, or share a Redis. */ -}}
{{- if $w.cluster.enabled -}}
{{- $cluster := dict -}}
{{- if eq $w.cluster.counters "redis" -}}
{{- $redis := dict "url" "${WEIR_REDIS_URL}" -}}
{{- with $w.cluster.redis }}
{{- if .cluster }}{{ $_ := set $redis "cluster" true }}{{ end -}}
{{- with .prefix }}{{ $_ := set $redis "prefix" . }}{{ end -}}
{{- with .onError }}{{ $_ := set $redis "on_error" . }}{{ end -}}
{{- end -}}
{{- $cluster = dict "counters" "redis" "redis" $redis -}}
{{- else -}}
{{- $port := int $w.cluster.gossipPort -}}
{{- $join := list (printf "dns:%s.%s.svc.%s:%d" (include "weir.headlessName" .) .Release.Namespace .Values.clusterDomain $port) -}}
{{- range $w.cluster.extraJoin }}{{ $join = append $join . }}{{ end -}}
{{- $cluster = dict "enabled" true "bind" (printf "0.0.0.0:%d" $port) "join" $join -}}
{{- with $w.cluster.gossipInterval }}{{ $_ := set $cluster "gossip_interval" . }}{{ end -}}
{{- with $w.cluster.directFanout }}{{ $_ := set $cluster "direct_fanout" (int .) }}{{ end -}}
{{- with $w.cluster.counters }}{{ $_ := set $cluster "counters" . }}{{ end -}}
{{- with $w.cluster.ringAutoAbove }}{{ $_ := set $cluster "ring" (dict "auto_above" (int .)) }}{{ end -}}
{{- end -}}
{{- $_ := set $cfg "cluster" $cluster -}}
{{- end -}}

{{- range $k, $v := (default dict $w.extraConfig) }}{{ $_ := set $cfg $k $v }}{{ end -}}
{{- toYaml $cfg -}}
{{- end }}

{{/*
weir.env: the container's environment. Secrets come only from Secret references.
*/}}
{{- define "weir.env" -}}
{{- $w := .Values.weir -}}
- name: WEIR_DATA_DIR
  value: {{ include "weir.dataDir" . | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- if and .Values.goMemLimit .Values.resources .Values.resources.limits .Values.resources.limits.memory }}
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      containerName: weir
      resource: limits.memory
{{- end }}
{{- include "weir.checkSecretRef" (dict "ref" $w.encryptionKeySecret "path" "weir.encryptionKeySecret") }}
{{- with $w.encryptionKeySecret }}{{ if .name }}
- name: WEIR_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name | quote }}
      key: {{ .key | quote }}
{{- end }}{{ end }}
{{- include "weir.checkSecretRef" (dict "ref" $w.adminTokenSecret "path" "weir.adminTokenSecret") }}
{{- with $w.adminTokenSecret }}{{ if .name }}
- name: WEIR_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name | quote }}
      key: {{ .key | quote }}
{{- end }}{{ end }}
{{- if and $w.cluster.enabled (eq $w.cluster.counters "redis") }}
{{- $ref := $w.cluster.redis.urlSecret }}
{{- if not (and $ref.name $ref.key) }}
{{- fail "weir.cluster.counters=redis needs weir.cluster.redis.urlSecret.name and .key (a Secret holding the Redis URL, exposed as WEIR_REDIS_URL)" }}
{{- end }}
- name: WEIR_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- else if $w.cluster.enabled }}
{{- include "weir.checkSecretRef" (dict "ref" $w.cluster.keySecret "path" "weir.cluster.keySecret") }}
{{- if $w.cluster.keySecret.name }}
- name: WEIR_CLUSTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $w.cluster.keySecret.name | quote }}
      key: {{ $w.cluster.keySecret.key | quote }}
{{- else if not $w.cluster.allowUnencrypted }}
{{- fail "weir.cluster.enabled needs weir.cluster.keySecret.name (a Secret with the gossip key, exposed as WEIR_CLUSTER_KEY), or weir.cluster.allowUnencrypted=true" }}
{{- end }}
{{- end }}
{{- if eq .Values.storage.mode "postgres" }}
{{- $ref := .Values.storage.postgres.dsnSecret }}
{{- if not (and $ref.name $ref.key) }}
{{- fail "storage.mode=postgres needs storage.postgres.dsnSecret.name and .key (a Secret holding the connection URL, exposed as WEIR_POSTGRES_DSN)" }}
{{- end }}
- name: WEIR_POSTGRES_DSN
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- end }}
{{- range $i, $p := (default list $w.providers) }}
{{- range $j, $k := (default list $p.keys) }}
{{- if $k.secretRef }}
- name: {{ include "weir.providerKeyEnvName" (dict "name" $p.name "index" $j) }}
  valueFrom:
    secretKeyRef:
      name: {{ $k.secretRef.name | quote }}
      key: {{ $k.secretRef.key | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with $w.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
