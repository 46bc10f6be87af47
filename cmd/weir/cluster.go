package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/weir-gateway/weir/internal/cluster"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/governance"
)

// startCluster joins the gossip cluster when cluster.enabled is set, so every replica's admissions count
// against the same limits. It is a no-op otherwise (nil node). The returned stop leaves the cluster.
func startCluster(ctx context.Context, cfg *config.Config, gov *governance.Service, log *slog.Logger) (node *cluster.Node, stop func(), err error) {
	if !cfg.Cluster.Enabled {
		return nil, func() {}, nil
	}
	if gov == nil {
		return nil, nil, errors.New("cluster mode needs governance (nothing to share)")
	}
	key, err := cfg.Cluster.LoadKey()
	if err != nil {
		return nil, nil, err
	}
	n, err := cluster.Start(ctx, cfg.Cluster, gov, cluster.Options{Logger: log, Key: key})
	if err != nil {
		return nil, nil, err
	}
	return n, n.Stop, nil
}
