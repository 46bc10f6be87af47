package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/weir-gateway/weir/internal/config"
)

// prepareDataDir creates the data directory when the embedded SQLite database lives in it, and logs where that
// is, so a zero-config start says where its state went. New directories are 0700: the database holds spend,
// request logs and stored provider secrets.
func prepareDataDir(cfg *config.Config, log *slog.Logger) error {
	gs := cfg.Governance.Store
	if (gs.Driver != "" && gs.Driver != "sqlite") || gs.DSN != "" {
		return nil
	}
	dir := cfg.Server.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory (server.data_dir, WEIR_DATA_DIR): %w", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	log.Info("data directory", "path", dir, "database", filepath.Join(dir, "weir.db"))
	return nil
}
