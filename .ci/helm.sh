#!/usr/bin/env bash
# Chart and image checks: installs the helm CLI from the Go module proxy (cached in $(go env GOPATH)/bin, so a
# CI workspace that keeps GOPATH reuses it), then runs the deploy module's tests: helm lint and helm template
# for the default values and every example, strict decoding into the Kubernetes API types, `weir config check`
# on the rendered ConfigMap, the real binary started with the pod's args and env until /readyz passes, and the
# offline image assembly. Usage: bash .ci/helm.sh   (from anywhere; called by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=${HELM_VERSION:-v3.22.0}
# The Kubernetes minor version helm's release builds stamp for this helm version (its k8s.io modules are
# v0.37.x); `go install` alone would leave helm assuming Kubernetes 1.20.
HELM_K8S_MINOR=${HELM_K8S_MINOR:-37}

GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
log() { echo "helm.sh: $*" >&2; }

have=""
if [ -x "$GOBIN_DIR/helm" ]; then
	have=$("$GOBIN_DIR/helm" version --template '{{.Version}}' 2>/dev/null || true)
fi
if [ "$have" != "$HELM_VERSION" ]; then
	log "installing helm $HELM_VERSION into $GOBIN_DIR${have:+ (found $have)}"
	H=helm.sh/helm/v3
	# Outside any module, so the gateway's go.mod is neither read nor touched.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && GOFLAGS= go install -ldflags "-w -s \
		-X $H/internal/version.version=$HELM_VERSION -X $H/internal/version.gitTreeState=clean \
		-X $H/pkg/lint/rules.k8sVersionMajor=1 -X $H/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR \
		-X $H/pkg/chartutil.k8sVersionMajor=1 -X $H/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR" \
		"$H/cmd/helm@$HELM_VERSION")
else
	log "helm $HELM_VERSION already in $GOBIN_DIR"
fi
helm version >&2

cd deploy
test -z "$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
go vet ./...
go test -count=1 -timeout 20m ./...
