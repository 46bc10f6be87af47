package provider

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProvidersAreLeaves keeps provider packages small to build and read: they may import, of Weir, only
// internal/provider and internal/confkit, and never the heavy parts of the gateway's dependencies. A provider
// that imported internal/config again would pull in governance, the store, cluster gossip and telemetry.
func TestProvidersAreLeaves(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	const module = "github.com/weir-gateway/weir/"
	allowed := []string{module + "internal/provider", module + "internal/confkit", module + "internal/dialects"}
	forbidden := []string{"github.com/hashicorp/memberlist", "go.opentelemetry.io/", "github.com/prometheus/",
		"modernc.org/sqlite", "github.com/jackc/pgx"}
	// One line per package under internal/provider: its path, then every package it depends on.
	out, err := exec.Command(goBin, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 8 {
		t.Fatalf("go list found %d packages, want internal/provider and its provider types", len(lines))
	}
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		for _, d := range strings.Fields(deps) {
			if strings.HasPrefix(d, module) && !isUnder(d, allowed) {
				t.Errorf("%s depends on %s: provider packages may import only internal/provider/..., internal/confkit and internal/dialects of Weir", pkg, d)
			}
			if isUnder(d, forbidden) {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}

// isUnder reports whether pkg is one of roots or below one.
func isUnder(pkg string, roots []string) bool {
	for _, r := range roots {
		if pkg == r || strings.HasPrefix(pkg, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}
