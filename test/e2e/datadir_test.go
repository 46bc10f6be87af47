package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestZeroConfigDataDir: `weir serve` with no config, no WEIR_DATA_DIR and no XDG_STATE_HOME keeps its database
// in ~/.local/state/weir (made 0700), not in the working directory, and logs where it is.
func TestZeroConfigDataDir(t *testing.T) {
	home, cwd := t.TempDir(), t.TempDir()
	g := startGatewayIn(t, cwd, "", "HOME="+home, "XDG_STATE_HOME=", "WEIR_DATA_DIR=", "WEIR_CONFIG=")
	g.stop()
	dir := filepath.Join(home, ".local", "state", "weir")
	if _, err := os.Stat(filepath.Join(dir, "weir.db")); err != nil {
		t.Fatalf("no database in the state directory: %v\n%s", err, g.logs.String())
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state directory: %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(cwd)
	for _, e := range entries {
		t.Errorf("left %s in the working directory", e.Name())
	}
	if !strings.Contains(g.logs.String(), `"msg":"data directory","path":"`+dir+`"`) {
		t.Errorf("the data directory is not logged:\n%s", g.logs.String())
	}
}

// TestXDGStateHomeDataDir: XDG_STATE_HOME names the state directory.
func TestXDGStateHomeDataDir(t *testing.T) {
	home, cwd, state := t.TempDir(), t.TempDir(), t.TempDir()
	g := startGatewayIn(t, cwd, "", "HOME="+home, "XDG_STATE_HOME="+state, "WEIR_DATA_DIR=", "WEIR_CONFIG=")
	g.stop()
	if _, err := os.Stat(filepath.Join(state, "weir", "weir.db")); err != nil {
		t.Fatalf("no database under XDG_STATE_HOME: %v", err)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) > 0 {
		t.Errorf("left %v in the working directory", entries)
	}
}
