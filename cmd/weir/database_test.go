package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/sqldb"
)

// openFDs counts this process's open file descriptors on path (Linux only).
func openFDs(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

// With the default configuration the store, the request log, stored responses and upstream-object records share
// one database handle: weir.db is opened once, and every package's tables are in it.
func TestDefaultConfigOpensTheDatabaseOnce(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc")
	}
	dir := t.TempDir()
	t.Setenv("WEIR_DATA_DIR", dir)
	t.Setenv("WEIR_ENCRYPTION_KEY", "")
	t.Setenv("WEIR_ENCRYPTION_KEY_FILE", "")
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.DataDir = dir
	opens := 0
	orig := openDB
	t.Cleanup(func() { openDB = orig })
	openDB = func(ctx context.Context, driver, dsn, dataDir string) (*sqldb.DB, error) {
		opens++
		return orig(ctx, driver, dsn, dataDir)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}

	// The wiring serve does.
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pers, err := openPersistence(ctx, cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	defer pers.close(log)
	obs, err := openObservability(ctx, cfg, eng, pers, log)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.close(log)

	if opens != 1 {
		t.Errorf("the database was opened %d times, want once", opens)
	}
	file := filepath.Join(dir, "weir.db")
	if n := openFDs(t, file); n != 1 {
		t.Errorf("%s is open %d times, want once", file, n)
	}
	for _, table := range []string{"schema_migrations", "customers", "virtual_keys", "request_logs",
		"stored_responses", "upstream_objects"} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
			table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s in %s: %d, %v", table, file, n, err)
		}
	}
}
