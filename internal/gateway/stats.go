package gateway

import (
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/gateway/health"
)

// ProviderStats is one provider's worker pool and traffic, and, from ProviderStats, its health. GET /debug/pools
// and the pool metrics read Stats; the admin API's provider listing reads ProviderStats.
type ProviderStats struct {
	Pool   dispatch.Stats   `json:"pool"`
	Usage  map[string]int64 `json:"usage"`
	Health *health.Health   `json:"health,omitempty"`
}

// Stats reports every routed provider's worker pool and traffic counters.
func (e *Engine) Stats() map[string]ProviderStats {
	list := e.Routes().List()
	out := make(map[string]ProviderStats, len(list))
	for _, up := range list {
		out[up.Config.Name] = up.stats()
	}
	return out
}

// ProviderStats reports one routed provider with its health; false when none is routed by that name.
func (e *Engine) ProviderStats(name string) (ProviderStats, bool) {
	up := e.Upstream(name)
	if up == nil {
		return ProviderStats{}, false
	}
	st := up.stats()
	h := health.Of(&up.health, e.router.Registry().SnapshotProvider(name))
	st.Health = &h
	return st, true
}

// stats reads up's pool and traffic counters.
func (up *Upstream) stats() ProviderStats {
	return ProviderStats{Pool: up.Pool.Stats(), Usage: up.usage.Map()}
}
