package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/sqldb"
)

// expiryInterval is how often stored responses and upstream-object records older than the retention are removed.
const expiryInterval = time.Hour

// openConversations creates, in db beside the governance store and the request log, the store of translated
// Responses API responses and the store of upstream objects Weir passed through (which provider and key made each
// response, file or batch), and gives them to the engine. Records older than responses.retention are removed now
// and then hourly until ctx ends.
func openConversations(ctx context.Context, cfg *config.Config, eng *gateway.Engine, db *sqldb.DB, log *slog.Logger) error {
	st, err := conversation.NewSQLStore(ctx, db)
	if err != nil {
		return err
	}
	objs, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		return err
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
	return nil
}
