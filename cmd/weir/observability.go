package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/weir-gateway/weir/internal/api"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// observability is the metrics registry, tracing and the request-log writer.
type observability struct {
	api     api.Observability
	logSink *requestlog.SQLSink
	// logReader serves the admin API's /api/logs and /api/stats; nil (not a nil *SQLSink) without a request log.
	logReader requestlog.Reader
	// logTail and overview serve /api/logs/tail and /api/stats/overview; nil without a request log.
	logTail       *requestlog.Hub
	overview      requestlog.OverviewReader
	traceShutdown func(context.Context) error
}

// openObservability sets up metrics (always), tracing (when configured) and the request log (unless
// client.enable_logging is false). The request log lives beside the governance store, in pers.db.
func openObservability(ctx context.Context, cfg *config.Config, eng *gateway.Engine, pers *persistence, log *slog.Logger) (*observability, error) {
	o := &observability{}
	m := telemetry.NewMetrics(cfg.Telemetry.Metrics)
	m.SetPoolStats(func() map[string]telemetry.PoolStats {
		out := map[string]telemetry.PoolStats{}
		for name, st := range eng.Stats() {
			out[name] = telemetry.PoolStats{Queued: st.Pool.Queued, InFlight: st.Pool.InFlight, Dropped: st.Pool.Dropped}
		}
		return out
	})
	o.api = api.Observability{Metrics: m, Prices: pers.gov.Prices(), LogHeaders: cfg.Client.LogHeaders,
		LogContent: cfg.Client.LogContent, LogContentBytes: cfg.Client.LogContentMaxBytes}
	if o.api.LogContentBytes == 0 {
		o.api.LogContentBytes = 4096
	}
	shutdown, err := telemetry.SetupTracing(ctx, cfg.Telemetry.Tracing)
	if err != nil {
		return nil, err
	}
	o.traceShutdown = shutdown
	if err := openConversations(ctx, cfg, eng, pers.db, log); err != nil {
		return nil, err
	}
	if !cfg.Client.LoggingEnabled() {
		return o, nil
	}
	o.logSink, err = requestlog.NewSQLSink(ctx, pers.db, requestlog.SQLOptions{})
	if err != nil {
		return nil, err
	}
	o.logTail = requestlog.NewHub()
	w := requestlog.NewWriter(o.logSink, requestlog.Options{Logger: log, Tail: o.logTail,
		Retention: time.Duration(cfg.Client.LogRetentionDays) * 24 * time.Hour})
	m.SetRequestLogStats(w.QueueDepth, w.Dropped)
	o.api.Log, o.logReader, o.overview = w, o.logSink, o.logSink
	return o, nil
}

// close flushes every accepted log record and pending spans: nothing accepted is lost on a graceful stop.
func (o *observability) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if o.api.Log != nil {
		if err := o.api.Log.Close(ctx); err != nil {
			log.Error("flushing the request log", "err", err)
		}
	}
	if err := o.traceShutdown(ctx); err != nil {
		log.Error("flushing traces", "err", err)
	}
}
