package gateway

import (
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
)

// Routes is the provider set requests are routed to now: the config file's providers and the stored ones. A
// request keeps the set it arrived with (Flow.Routes); Replaced tells when this one is swapped out.
func (e *Engine) Routes() *providerset.Set[*Upstream] { return e.rt.Load() }

// newUpstream builds one provider with its key set and worker pool. prev is its current version (nil for a new
// one): its pool is kept when the sizes are the same, so its in-flight requests still count against the slots.
func (e *Engine) newUpstream(index int, pc provider.Config, prev *Upstream) (*Upstream, error) {
	p, err := provider.Build(index, pc)
	if err != nil {
		return nil, err
	}
	var pool *dispatch.Pool
	if prev != nil && prev.Config.Concurrency == pc.Concurrency && prev.Config.BufferSize == pc.BufferSize {
		pool = prev.Pool
	} else {
		o := e.poolDefaults
		o.Concurrency, o.BufferSize = pc.Concurrency, pc.BufferSize
		pool = dispatch.New(o)
	}
	return &Upstream{Provider: p, Config: pc, Keys: provider.NewKeySet(pc.Keys), Pool: pool,
		nameHeader: []string{pc.Name}}, nil
}

// SetStored makes cfgs the stored providers routed beside the configured ones and swaps the new set in
// (providerset.Set.Merge). A changed or removed provider has its targets' breakers forgotten, so a fixed key does
// not wait out the old one's. It returns why each provider it could not route is left out.
func (e *Engine) SetStored(cfgs []provider.Config) map[string]error {
	e.swapMu.Lock()
	defer e.swapMu.Unlock()
	old := e.Routes()
	next, changed, failed := old.Merge(cfgs, func(pc provider.Config, prev *Upstream) (*Upstream, error) {
		return e.newUpstream(0, pc, prev)
	})
	if next == nil {
		return failed
	}
	e.rt.Store(next)
	old.Retire()
	for _, n := range changed {
		e.router.Registry().Forget(n)
	}
	return failed
}

// Router is the alias router, for listings (GET /v1/models, GET /api/models).
func (e *Engine) Router() *router.Router { return e.router }
