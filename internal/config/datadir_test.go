package config

import (
	"path/filepath"
	"testing"
)

// TestDataDir: server.data_dir wins, then WEIR_DATA_DIR, then the user's state directory ($XDG_STATE_HOME/weir,
// else ~/.local/state/weir) — never the working directory while a home is known.
func TestDataDir(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		name, doc, xdg, weirDir, want string
	}{
		{name: "XDG_STATE_HOME", xdg: "/var/state/u", want: "/var/state/u/weir"},
		{name: "no XDG_STATE_HOME", want: filepath.Join(home, ".local", "state", "weir")},
		{name: "relative XDG_STATE_HOME is ignored", xdg: "state", want: filepath.Join(home, ".local", "state", "weir")},
		{name: "WEIR_DATA_DIR", xdg: "/var/state/u", weirDir: "/srv/weir", want: "/srv/weir"},
		{name: "server.data_dir", doc: "server: {data_dir: /data}\n", xdg: "/var/state/u", weirDir: "/srv/weir", want: "/data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			t.Setenv("WEIR_DATA_DIR", tc.weirDir)
			cfg, err := Parse([]byte(tc.doc+"providers: [{name: m, type: mock}]\n"), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Server.DataDir != tc.want {
				t.Fatalf("data dir %q, want %q", cfg.Server.DataDir, tc.want)
			}
		})
	}
}
