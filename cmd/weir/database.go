package main

import (
	"context"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/sqldb"
)

// openDB is sqldb.Open; the wiring test counts its calls.
var openDB = sqldb.Open

// openDatabase opens the one database Weir keeps its state in, once per process: the one governance.store names
// (by default SQLite weir.db in server.data_dir). The governance store, the request log, stored responses and
// upstream-object records all keep their tables in it; none has a database setting of its own. The caller closes
// it after everything using it is done.
func openDatabase(ctx context.Context, cfg *config.Config) (*sqldb.DB, error) {
	gs := cfg.Governance.Store
	return openDB(ctx, gs.Driver, gs.DSN, cfg.Server.DataDir)
}
