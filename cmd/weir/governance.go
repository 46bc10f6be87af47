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
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/storeopen"
)

// persistence is the store and the governance service built on it.
type persistence struct {
	store  store.Store
	gov    *governance.Service
	cipher *secret.Cipher
}

// openPersistence opens the store (SQLite in the data dir by default), checks the encryption key against it,
// loads prices, seeds the config's customers, teams and keys, and starts background spend flushing.
func openPersistence(ctx context.Context, cfg *config.Config, log *slog.Logger) (*persistence, error) {
	gc := cfg.Governance
	if err := prepareDataDir(cfg, log); err != nil {
		return nil, err
	}
	st, err := storeopen.Open(ctx, gc.Store.Driver, gc.Store.DSN, cfg.Server.DataDir)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	p := &persistence{store: st}
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
	p.gov, err = governance.New(ctx, st, governance.Options{Prices: prices, Logger: log,
		FlushInterval: gc.FlushInterval, ConcurrencyWait: gc.ConcurrencyWait})
	if err != nil {
		st.Close()
		return nil, err
	}
	generated, err := p.gov.Seed(ctx, &gc)
	if err != nil {
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

// close flushes spend and counters, then closes the store.
func (p *persistence) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.gov.Close(ctx); err != nil {
		log.Error("flushing governance counters", "err", err)
	}
	if err := p.store.Close(); err != nil {
		log.Error("closing the store", "err", err)
	}
}
