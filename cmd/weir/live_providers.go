package main

import (
	"context"
	"log/slog"

	"github.com/weir-gateway/weir/internal/admin"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/liveproviders"
)

// startLiveProviders routes the providers stored through the admin API, and keeps routing what the store holds:
// a write on this replica applies at once, one on another replica within routing.provider_poll_interval. Without
// a store there is nothing stored to route (nil).
func startLiveProviders(ctx context.Context, cfg *config.Config, pers *persistence, eng *gateway.Engine, log *slog.Logger) (admin.LiveProviders, error) {
	if pers.store == nil {
		return nil, nil
	}
	live := liveproviders.New(pers.store, pers.cipher, eng, log)
	if err := live.Load(ctx); err != nil {
		return nil, err
	}
	go live.Run(ctx, cfg.Routing.ProviderPollInterval.D())
	return live, nil
}
