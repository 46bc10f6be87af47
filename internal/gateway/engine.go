// Package gateway is the core of the request pipeline as plain Go: resolve the model to a provider, take a
// worker slot, send, and relay the answer while reading its usage; pipeline.go lists its stages in order. What
// needs more than the core plugs in around it (a Layer, or a Pipeline of its own: internal/gateway/responses,
// internal/gateway/passthrough). It has no HTTP server types in its signatures beyond headers; internal/api
// adapts HTTP to it, so the pipeline can be tested and measured alone.
package gateway

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/gateway/health"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
)

// Upstream is one configured provider with what the gateway keeps for it.
type Upstream struct {
	Provider provider.Provider
	Config   provider.Config
	Pool     *dispatch.Pool
	Keys     *provider.KeySet

	nameHeader []string        // preallocated header value, so tagging a response costs no allocation
	usage      health.Usage    // its traffic since start
	health     health.Attempts // its latest attempts, for the admin API
}

// Name and Models are the provider's, for the provider set (providerset.Provider).
func (up *Upstream) Name() string     { return up.Config.Name }
func (up *Upstream) Models() []string { return up.Config.Models }

// Engine serves requests. It is safe for concurrent use.
type Engine struct {
	log       *slog.Logger
	exchanges *exchangePool
	router    *router.Router
	gov       *governance.Service // nil: ungoverned
	convs     conversation.Store  // nil: no stored responses
	objects   affinity.Store      // nil: passed-through objects (responses, files, batches) are not remembered
	layers    map[provider.Op]*Layer
	maxBody   int64
	maxUpload int64

	// rt is the provider set (routing.go): swapped whole when stored providers change.
	rt           atomic.Pointer[providerset.Set[*Upstream]]
	poolDefaults dispatch.Options
	swapMu       sync.Mutex // serializes SetStored
}

// SetGovernance makes the engine admit and charge requests that carry a principal.
func (e *Engine) SetGovernance(g *governance.Service) { e.gov = g }

// SetConversations gives the engine the store of translated Responses API responses, which the Responses layer
// (internal/gateway/responses) keeps and reads for previous_response_id.
func (e *Engine) SetConversations(s conversation.Store) { e.convs = s }

// Conversations is the stored-response store, nil when none is set.
func (e *Engine) Conversations() conversation.Store { return e.convs }

// New builds every provider in cfg. Provider problems are returned together, with field paths.
func New(cfg *config.Config, log *slog.Logger) (*Engine, error) {
	e := &Engine{
		log:          log,
		poolDefaults: dispatch.Options{Drop: cfg.Client.DropExcessRequests, QueueTimeout: cfg.Client.QueueTimeout.D()},
		exchanges:    newExchangePool(cfg.Client.InitialPoolSize),
		maxBody:      cfg.Server.MaxBodyBytes,
		maxUpload:    cfg.Server.MaxUploadBytes,
	}
	configured := make(map[string]*Upstream, len(cfg.Providers))
	var probs config.Problems
	for i, pc := range cfg.Providers {
		up, err := e.newUpstream(i, pc, nil)
		if err != nil {
			if ps, ok := err.(config.Problems); ok {
				probs = append(probs, ps...)
				continue
			}
			return nil, err
		}
		for j, k := range pc.Keys {
			if k.Value == "" {
				log.Warn("provider key is empty after ${VAR} expansion; skipping it", "provider", pc.Name, "key", j)
			}
		}
		configured[pc.Name] = up
	}
	if len(probs) > 0 {
		return nil, probs
	}
	e.rt.Store(providerset.New(configured))
	r, err := router.New(cfg.Models, router.Options{
		Retries:        cfg.Routing.Retries,
		Breaker:        cfg.Routing.Cooldown,
		ProviderExists: func(n string) bool { return e.Upstream(n) != nil },
	})
	if err != nil {
		return nil, err
	}
	e.router = r
	return e, nil
}

// Upstream returns the named provider, or nil.
func (e *Engine) Upstream(name string) *Upstream { return e.Routes().Get(name) }

// Request is one inbound inference request.
type Request struct {
	Op      provider.Op
	Dialect dialects.Dialect // the caller's dialect
	Body    []byte           // as the caller sent it; never modified
	Header  http.Header      // the caller's headers
	// Principal is the caller's virtual key, resolved by the api layer; nil for an ungoverned request.
	Principal *governance.Principal
}
