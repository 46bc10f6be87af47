package main

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/requestlog"
)

// expiryInterval is how often stored responses and upstream-object records older than the retention are removed.
const expiryInterval = time.Hour

// openConversations opens the store of translated Responses API responses and the store of upstream objects Weir
// passed through (which provider and key made each response, file or batch) beside the governance store and the
// request log (the same SQLite file or the same Postgres database) and gives them to the engine. Records older
// than responses.retention are removed now and then hourly until ctx ends. The caller closes the returned
// database.
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
	objs, err := affinity.NewSQLStore(ctx, db, dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	retention := cfg.Responses.RetentionOrDefault()
	expire := func() {
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cutoff := time.Now().Add(-retention)
		if n, err := st.DeleteBefore(ectx, cutoff); err != nil {
			if ctx.Err() == nil {
				log.Error("expiring stored responses", "err", err)
			}
		} else if n > 0 {
			log.Info("expired stored responses", "count", n, "retention", retention.String())
		}
		if n, err := objs.DeleteBefore(ectx, cutoff); err != nil {
			if ctx.Err() == nil {
				log.Error("expiring upstream object records", "err", err)
			}
		} else if n > 0 {
			log.Info("expired upstream object records", "count", n, "retention", retention.String())
		}
	}
	expire()
	go func() {
		t := time.NewTicker(expiryInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				expire()
			}
		}
	}()
	eng.SetConversations(st)
	eng.SetObjects(objs)
	return db, nil
}
