package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/rediscounter"
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

// persistence is the database, the store in it and the governance service built on it.
type persistence struct {
	db     *sqldb.DB
	store  store.Store
	gov    *governance.Service
	cipher *secret.Cipher
	redis  *rediscounter.Store // the counter store with cluster.counters: redis, else nil
}

// openPersistence migrates the store in db (see openDatabase), checks the encryption key against it, loads
// prices, seeds the config's customers, teams and keys, and starts background spend flushing.
func openPersistence(ctx context.Context, cfg *config.Config, db *sqldb.DB, log *slog.Logger) (*persistence, error) {
	gc := cfg.Governance
	st, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	p := &persistence{db: db, store: st}
	p.cipher, err = secret.Load(os.Getenv("WEIR_ENCRYPTION_KEY_FILE"))
	if err != nil {
		st.Close()
		return nil, err
	}
	if p.cipher == nil {
		log.Warn("no encryption key (WEIR_ENCRYPTION_KEY): provider secrets will not be stored; keep them in the config or the environment")
	} else if err := secret.Bind(ctx, st.Meta(), p.cipher); err != nil {
		st.Close()
		if errors.Is(err, secret.ErrKeyMismatch) {
			return nil, fmt.Errorf("refusing to start: %w", err)
		}
		return nil, err
	}
	prices := pricing.NewRegistry()
	if gc.PriceFile != "" {
		if err := prices.Load(gc.PriceFile); err != nil {
			st.Close()
			return nil, fmt.Errorf("governance.price_file: %w", err)
		}
	}
	opt := governance.Options{Prices: prices, Logger: log, FlushInterval: gc.FlushInterval, ConcurrencyWait: gc.ConcurrencyWait}
	if cfg.Cluster.UsesRedis() {
		if p.redis, err = rediscounter.New(ctx, cfg.Cluster.Redis, log); err != nil {
			st.Close()
			return nil, fmt.Errorf("cluster.counters: redis: %w", err)
		}
		opt.Counters = p.redis
		log.Info("cluster: counters in redis", "prefix", cfg.Cluster.Redis.WithDefaults().Prefix,
			"on_error", cfg.Cluster.Redis.WithDefaults().OnError)
	}
	p.gov, err = governance.New(ctx, st, opt)
	if err != nil {
		p.closeRedis(log)
		st.Close()
		return nil, err
	}
	generated, err := p.gov.Seed(ctx, &gc)
	if err != nil {
		p.closeRedis(log)
		st.Close()
		return nil, err
	}
	for _, k := range generated {
		// Shown once: only the hash is stored.
		log.Warn("generated a secret for virtual key; store it now, it is not shown again", "key", k.ID, "secret", k.Secret)
	}
	p.gov.Start()
	return p, nil
}

// close flushes spend and counters, then closes the store (the database stays open for its owner to close).
func (p *persistence) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.gov.Close(ctx); err != nil {
		log.Error("flushing governance counters", "err", err)
	}
	p.closeRedis(log)
	if err := p.store.Close(); err != nil {
		log.Error("closing the store", "err", err)
	}
}

func (p *persistence) closeRedis(log *slog.Logger) {
	if p.redis == nil {
		return
	}
	if err := p.redis.Close(); err != nil {
		log.Warn("closing the redis counter store", "err", err)
	}
}
