package main

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/requestlog"
)

// conversationRetention is how long stored Responses API responses are kept. There is no setting for it yet:
// expired responses are removed once, when the gateway starts.
const conversationRetention = 30 * 24 * time.Hour

// openConversations opens the store of translated Responses API responses beside the governance store and the
// request log (the same SQLite file or the same Postgres database) and gives it to the engine. The caller closes
// the returned database.
func openConversations(ctx context.Context, cfg *config.Config, eng *gateway.Engine, log *slog.Logger) (*sql.DB, error) {
	gs := cfg.Governance.Store
	dialect := requestlog.SQLite
	var (
		db  *sql.DB
		err error
	)
	if gs.Driver == "postgres" {
		dialect = requestlog.Postgres
		db, err = requestlog.OpenPostgres(ctx, gs.DSN)
	} else {
		path := gs.DSN
		if path == "" {
			path = filepath.Join(cfg.Server.DataDir, "weir.db")
		}
		db, err = requestlog.OpenSQLite(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	st, err := conversation.NewSQLStore(ctx, db, dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n, err := st.DeleteBefore(ctx, time.Now().Add(-conversationRetention)); err != nil {
		log.Error("expiring stored responses", "err", err)
	} else if n > 0 {
		log.Info("expired stored responses", "count", n, "retention", conversationRetention)
	}
	eng.SetConversations(st)
	return db, nil
}
