package main

import (
	"context"
	"log/slog"

	"github.com/weir-gateway/weir/internal/api"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/mcp"
)

// startMCP builds the MCP gateway over the configured servers, mounts /mcp and /mcp/{server} (governed: a
// virtual key is required) and connects to the servers in the background. The caller closes it on shutdown.
func startMCP(ctx context.Context, cfg *config.Config, pers *persistence, obs *observability, m api.Mount, log *slog.Logger) *mcp.Gateway {
	opts := mcp.Options{Gov: pers.gov, Log: log.With("component", "mcp"), Version: version, RequestLog: obs.api.Log,
		LogContent: obs.api.LogContent, LogContentBytes: obs.api.LogContentBytes}
	if obs.api.Metrics != nil {
		opts.Metrics = obs.api.Metrics.Registry()
	}
	g := mcp.New(cfg.MCP, opts)
	h := g.Handler()
	m.Handle("/mcp", h)
	m.Handle("/mcp/{server}", h)
	g.Start(ctx)
	if g.Enabled() {
		names := make([]string, 0, len(cfg.MCP.Servers))
		for _, s := range cfg.MCP.Servers {
			names = append(names, s.Name+" ("+s.Transport+")")
		}
		log.Info("mcp gateway serving /mcp", "servers", names)
	}
	return g
}
