// Package api is Weir's data plane over HTTP: routes, inbound dialects, and errors in each dialect's own format. It
// adapts HTTP to the gateway pipeline and holds no routing or provider logic of its own. The admin API is
// internal/admin, mounted on the same server (Mount).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/batches"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/catalog"
	"github.com/weir-gateway/weir/internal/gateway/responses"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/meter"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
)

// Server serves the gateway's HTTP API.
type Server struct {
	eng      *gateway.Engine
	serve    ServeFunc        // the chat, completions, embeddings, responses and messages routes' pipeline (eng.Serve, or wrapped)
	catalog  *catalog.Catalog // the models eng serves (GET /v1/models)
	log      *slog.Logger
	mux      *http.ServeMux
	gov      Governance
	obs      Observability
	routes   []Route
	draining atomic.Bool
	batches  *batches.Settler // nil: a batch is not settled when a caller polls it (see SetBatches)
	// readTimeout and uploadTimeout bound reading a request body (see limitBodyRead).
	readTimeout, uploadTimeout time.Duration
}

// ServeFunc serves one inference request through the gateway, as gateway.Engine.Serve does.
type ServeFunc = func(ctx context.Context, x *gateway.Exchange, req *gateway.Request, w relay.Sink) (gateway.Outcome, error)

// WrapServe puts wrap in front of the inference routes' pipeline (agent mode, internal/gateway/agent, does).
// Call it before serving.
func (s *Server) WrapServe(wrap func(next ServeFunc) ServeFunc) { s.serve = wrap(s.serve) }

// Catalog is the listing of the models the server's engine serves; Run it to list what upstreams offer.
func (s *Server) Catalog() *catalog.Catalog { return s.catalog }

// New builds the routes, and gives eng the Responses API's layers: the routes it mounts need them.
func New(eng *gateway.Engine, gov Governance, obs Observability, log *slog.Logger) *Server {
	responses.Use(eng)
	s := &Server{eng: eng, serve: eng.Serve, catalog: catalog.New(eng), gov: gov, obs: obs, log: log, mux: http.NewServeMux()}
	for _, prefix := range []string{"/v1", ""} {
		s.mountOpenAI(prefix)
		s.handle(RoutePublic, "GET "+prefix+"/models", http.HandlerFunc(s.models))
		s.handle(RoutePublic, "GET "+prefix+"/models/{id}", http.HandlerFunc(s.model))
	}
	s.handle(RouteInference, "POST /v2/rerank", s.passThrough(rawRoute{op: provider.OpRerank, meter: meter.Rerank, needModel: true}))
	for _, prefix := range []string{"/v1", "/anthropic/v1"} {
		s.handle(RouteInference, "POST "+prefix+"/messages", s.anthropic(provider.OpMessages))
		s.handle(RouteInference, "POST "+prefix+"/messages/count_tokens", s.anthropic(provider.OpCountTokens))
	}
	s.mountMessageBatches("/v1")
	s.mountNative()
	if obs.Metrics != nil {
		s.handle(RoutePublic, "GET /metrics", obs.Metrics.Handler())
	}
	s.handle(RoutePublic, "GET /healthz", http.HandlerFunc(s.healthz))
	s.handle(RoutePublic, "GET /readyz", http.HandlerFunc(s.readyz))
	s.handle(RoutePublic, "GET /debug/pools", http.HandlerFunc(s.pools))
	s.handle(RoutePublic, "/", http.HandlerFunc(s.notFound))
	return s
}

// mountOpenAI registers the OpenAI-dialect endpoints under prefix ("/v1", "", and "/openai/v1" for callers
// that point an OpenAI SDK at the provider-native prefix).
func (s *Server) mountOpenAI(prefix string) {
	s.handle(RouteInference, "POST "+prefix+"/chat/completions", s.openAI(provider.OpChat))
	s.handle(RouteInference, "POST "+prefix+"/completions", s.openAI(provider.OpCompletions))
	s.handle(RouteInference, "POST "+prefix+"/embeddings", s.openAI(provider.OpEmbeddings))
	s.handle(RouteInference, "POST "+prefix+"/responses", s.openAI(provider.OpResponses))
	s.handle(RouteInference, "GET "+prefix+"/responses/{id}", s.storedResponses("get"))
	s.handle(RouteInference, "DELETE "+prefix+"/responses/{id}", s.storedResponses("delete"))
	s.handle(RouteInference, "GET "+prefix+"/responses/{id}/input_items", s.storedResponses("input_items"))
	s.handle(RouteInference, "POST "+prefix+"/responses/input_tokens", s.responsesInputTokens())
	s.handle(RouteInference, "POST "+prefix+"/images/generations", s.passThrough(rawRoute{op: provider.OpImages, meter: meter.Images}))
	s.handle(RouteInference, "POST "+prefix+"/images/edits", s.passThrough(rawRoute{op: provider.OpImageEdits, meter: meter.Images, multipart: true}))
	s.handle(RouteInference, "POST "+prefix+"/images/variations", s.passThrough(rawRoute{op: provider.OpImageVariation, meter: meter.Images, multipart: true}))
	s.handle(RouteInference, "POST "+prefix+"/audio/speech", s.passThrough(rawRoute{op: provider.OpSpeech, meter: meter.Speech, needModel: true}))
	s.handle(RouteInference, "POST "+prefix+"/audio/transcriptions", s.passThrough(rawRoute{op: provider.OpTranscriptions, meter: meter.Audio, multipart: true, needModel: true}))
	s.handle(RouteInference, "POST "+prefix+"/audio/translations", s.passThrough(rawRoute{op: provider.OpTranslations, meter: meter.Audio, multipart: true, needModel: true}))
	s.handle(RouteInference, "POST "+prefix+"/moderations", s.passThrough(rawRoute{op: provider.OpModerations}))
	s.handle(RouteInference, "POST "+prefix+"/rerank", s.passThrough(rawRoute{op: provider.OpRerank, meter: meter.Rerank, needModel: true}))
	s.mountObjects(prefix)
}

// RouteKind says how a route is protected. Every route declares one, so a test can check each kind's rule on
// every route and a new route cannot slip past governance unnoticed.
type RouteKind int

// The kinds of route.
const (
	// RoutePublic needs no credential (health, readiness, the model list, metrics).
	RoutePublic RouteKind = iota
	// RouteInference is governed: virtual key, limits, budget, metering, request log.
	RouteInference
	// RouteAdmin needs the admin token (or loopback when none is configured); internal/admin serves these,
	// registered through Mount.
	RouteAdmin
)

// Route is one registered pattern.
type Route struct {
	Pattern string
	Kind    RouteKind
}

// handle registers a route with its kind.
func (s *Server) handle(kind RouteKind, pattern string, h http.Handler) {
	s.routes = append(s.routes, Route{Pattern: pattern, Kind: kind})
	s.mux.Handle(pattern, h)
}

// Mount is where another package registers routes of one kind on this server: the admin API (internal/admin),
// which cmd/weir mounts. They share the data plane's mux, so its body read deadlines, its 404 and 405 answers
// and Routes cover them too, and neither package imports the other.
func (s *Server) Mount(kind RouteKind) Mount { return Mount{s: s, kind: kind} }

// Mount registers routes of one kind on a Server.
type Mount struct {
	s    *Server
	kind RouteKind
}

// Handle registers a route.
func (m Mount) Handle(pattern string, h http.Handler) { m.s.handle(m.kind, pattern, h) }

// Handler finds the route of r among all the server's routes.
func (m Mount) Handler(r *http.Request) (http.Handler, string) { return m.s.mux.Handler(r) }

// Routes lists every registered route.
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP dispatches to the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.limitBodyRead(w, r)
	s.mux.ServeHTTP(w, r)
	dropUnread(w, r)
}

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
	httpx.WriteJSON(w, http.StatusOK, s.eng.Stats())
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	ms := s.catalog.List()
	if ms == nil {
		ms = []catalog.Model{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": ms})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	pathErrorWriter(r.URL.Path)(w, httpx.UnknownRoute(s.mux, r))
}
