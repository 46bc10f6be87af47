// Package deploy holds the tests of Weir's deployment artifacts: the container image (../Dockerfile) and the
// Helm chart (helm/weir). It is a separate module so the gateway's own module does not depend on the
// Kubernetes client libraries.
//
// Run from this directory:
//
//	go test ./...
//
// The chart tests need the helm CLI on PATH (../.ci/helm.sh installs it) and skip without it; they build the
// gateway from the parent module with `go build`, or use the binary named by WEIR_BIN.
package deploy
