package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weir-gateway/weir/internal/admin"
	"github.com/weir-gateway/weir/internal/api"
	"github.com/weir-gateway/weir/internal/batches"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/agent"
	"github.com/weir-gateway/weir/internal/ui"
)

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", os.Getenv("WEIR_CONFIG"), "config file (YAML or JSON); env WEIR_CONFIG")
	addr := fs.String("addr", os.Getenv("WEIR_ADDR"), "listen address, overrides server.addr; env WEIR_ADDR")
	logFormat := fs.String("log-format", "", "text or json (default: text on a terminal, json otherwise)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	pprofAddr := fs.String("pprof-addr", "", "serve Go's /debug/pprof on this address (e.g. 127.0.0.1:6060); off by default")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := newLogger(*logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "weir:", err)
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		log.Error("invalid configuration", "config", *cfgPath, "problems", err.Error())
		return 1
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	eng, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("could not start the gateway", "err", err)
		return 1
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if *pprofAddr != "" {
		startPprof(*pprofAddr, log)
	}
	if err := prepareDataDir(cfg, log); err != nil {
		log.Error("could not prepare the data directory", "err", err)
		return 1
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		log.Error("could not open the database", "err", err)
		return 1
	}
	defer db.Close() // deferred first, so closed last: after everything using it
	pers, err := openPersistence(ctx, cfg, db, log)
	if err != nil {
		log.Error("could not start governance", "err", err)
		return 1
	}
	defer pers.close(log)
	eng.SetGovernance(pers.gov)
	live, err := startLiveProviders(ctx, cfg, pers, eng, log)
	if err != nil {
		log.Error("could not load the stored providers", "err", err)
		return 1
	}
	clusterNode, stopCluster, err := startCluster(ctx, cfg, pers.gov, log)
	if err != nil {
		log.Error("could not start cluster mode", "err", err)
		return 1
	}
	defer stopCluster()

	adminToken := os.Getenv("WEIR_ADMIN_TOKEN")
	if adminToken == "" {
		adminToken = cfg.Server.AdminToken
	}
	obs, err := openObservability(ctx, cfg, eng, pers, log)
	if err != nil {
		log.Error("could not start observability", "err", err)
		return 1
	}
	var settler *batches.Settler
	if objs := eng.Objects(); objs != nil {
		settler = batches.NewSettler(objs, pers.gov, eng.ObjectAccount, log)
		go settler.Run(ctx, batchPollInterval)
	}
	var clusterView func() any
	if clusterNode != nil {
		clusterView = func() any { return clusterNode.Snapshot() }
		registerClusterMetrics(obs.api.Metrics, clusterNode)
	}
	if pers.redis != nil {
		clusterView = redisClusterView(pers.redis)
		registerRedisMetrics(obs.api.Metrics, pers.redis)
	}
	handler := api.New(eng, api.Governance{Service: pers.gov, Enforce: cfg.Client.EnforceGovernanceHeader}, obs.api, log)
	go handler.Catalog().Run(ctx) // the models upstreams list, refreshed in the background
	mcpGateway := startMCP(ctx, cfg, pers, obs, handler.Mount(api.RouteInference), log)
	handler.WrapServe(agent.New(eng, mcpGateway, cfg.MCP.Separator, cfg.MCP.AgentMaxDepth).Wrap)
	// The admin API and the web UI share the data plane's listener and mux, on their own routes (/api/..., /ui/...).
	ac := admin.Config{Gov: pers.gov, Token: adminToken, AllowedHosts: cfg.Server.AllowedHosts,
		Store: pers.store, Cipher: pers.cipher, LogReader: obs.logReader, LogTail: obs.logTail, Overview: obs.overview, Cluster: clusterView, Models: handler.Catalog().List,
		Engine: eng, Live: live, Log: log,
		MCPServers: func() any { return mcpGateway.Servers() }}
	sessions := ui.NewSessions(adminToken, cfg.Server.UISessionTTL.D())
	if sessions != nil {
		ac.Sessions = sessions
	}
	admin.Mount(handler.Mount(api.RouteAdmin), ac)
	ui.Mount(handler.Mount(api.RoutePublic), ui.Config{Sessions: sessions, BasePath: cfg.Server.BasePath, Version: version, Log: log})
	handler.SetBatches(settler)
	handler.SetReadTimeouts(cfg.Server.ReadTimeout.D(), cfg.Server.UploadReadTimeout.D())
	srv := &http.Server{
		Handler:           ui.StripBase(cfg.Server.BasePath, handler),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.D(),
		IdleTimeout:       cfg.Server.IdleTimeout.D(),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if obs.logTail != nil {
		srv.RegisterOnShutdown(obs.logTail.Close) // open live tails end, so they do not hold the shutdown up
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		log.Error("could not listen", "addr", cfg.Server.Addr, "err", err)
		return 1
	}
	names := make([]string, 0, len(cfg.Providers))
	for _, p := range cfg.Providers {
		names = append(names, p.Name+" ("+p.Type+")")
	}
	log.Info("weir is serving", "addr", ln.Addr().String(), "version", version, "providers", names)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errc:
		log.Error("server stopped", "err", err)
		return 1
	case sig := <-sigc:
		log.Info("shutting down: draining in-flight requests", "signal", sig.String(),
			"timeout", cfg.Server.ShutdownTimeout.D().String())
	}
	handler.Drain()
	if d := cfg.Server.DrainDelay.D(); d > 0 {
		time.Sleep(d) // keep serving while load balancers notice /readyz failing
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("shutdown timeout passed with requests still in flight; closing them", "err", err)
		_ = srv.Close()
	}
	mcpGateway.Close() // stdio servers' processes end here
	obs.close(log)
	stop()
	log.Info("stopped")
	return 0
}

// batchPollInterval is how often batches not yet billed are asked how they stand; a caller polling its own batch
// bills it at once.
const batchPollInterval = time.Minute
