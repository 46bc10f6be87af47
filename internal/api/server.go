// Package api is Weir's HTTP face: routes, inbound dialects, and errors in each dialect's own format. It adapts
// HTTP to the gateway pipeline and holds no routing or provider logic of its own.
package api

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
)

// Server serves the gateway's HTTP API.
type Server struct {
	eng      *gateway.Engine
	log      *slog.Logger
	mux      *http.ServeMux
	gov      Governance
	obs      Observability
	draining atomic.Bool
}

// New builds the routes.
func New(eng *gateway.Engine, gov Governance, obs Observability, log *slog.Logger) *Server {
	s := &Server{eng: eng, gov: gov, obs: obs, log: log, mux: http.NewServeMux()}
	for _, prefix := range []string{"/v1", ""} {
		s.mux.Handle("POST "+prefix+"/chat/completions", s.openAI(provider.OpChat))
		s.mux.Handle("POST "+prefix+"/completions", s.openAI(provider.OpCompletions))
		s.mux.Handle("POST "+prefix+"/embeddings", s.openAI(provider.OpEmbeddings))
		s.mux.HandleFunc("GET "+prefix+"/models", s.models)
	}
	for _, prefix := range []string{"/v1", "/anthropic/v1"} {
		s.mux.Handle("POST "+prefix+"/messages", s.anthropic(provider.OpMessages))
		s.mux.Handle("POST "+prefix+"/messages/count_tokens", s.anthropic(provider.OpCountTokens))
	}
	if obs.Metrics != nil {
		s.mux.Handle("GET /metrics", obs.Metrics.Handler())
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /debug/pools", s.pools)
	s.mux.HandleFunc("/", s.notFound)
	s.mountAdmin()
	return s
}

// ServeHTTP dispatches to the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Drain makes /readyz fail so load balancers stop sending new requests; in-flight ones carry on.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"draining"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

func (s *Server) pools(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.eng.PoolStats())
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	ms := s.eng.Models()
	if ms == nil {
		ms = []gateway.Model{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": ms})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeOpenAIError(w, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "unknown_route",
		Message: "no route " + r.Method + " " + r.URL.Path + " (see GET /v1/models, POST /v1/chat/completions)"})
}
