// Package storeopen opens the configured store backend. It is separate from package store so that store stays
// free of driver imports (the drivers import store).
package storeopen

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/postgres"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

// Open opens driver ("sqlite" by default, or "postgres") at dsn. An empty sqlite dsn means weir.db in dataDir.
func Open(ctx context.Context, driver, dsn, dataDir string) (store.Store, error) {
	switch driver {
	case "", "sqlite":
		if dsn == "" {
			dsn = filepath.Join(dataDir, "weir.db")
		}
		return sqlite.Open(ctx, dsn)
	case "postgres":
		if dsn == "" {
			return nil, fmt.Errorf("store: postgres needs a dsn")
		}
		return postgres.Open(ctx, dsn)
	}
	return nil, fmt.Errorf("store: unknown driver %q (want sqlite or postgres)", driver)
}
