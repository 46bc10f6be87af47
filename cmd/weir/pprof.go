package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
)

// startPprof serves the Go profiler on its own listener, so it is never exposed on the gateway's port.
func startPprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Error("pprof listener stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("profiling enabled", "addr", addr)
}
