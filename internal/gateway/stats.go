package gateway

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/router"
)

// healthWindow is how many of a provider's latest attempts its health figures cover.
const healthWindow = 256

// health is a provider's latest attempts on this replica. The request path writes it with two atomic stores and
// no allocation (a failure also keeps its message); readers compute percentiles on demand.
type health struct {
	n      atomic.Uint64
	recent [healthWindow]atomic.Uint64 // latency ns << 2 | 2 (recorded) | 1 (failed); 0: not yet written
	last   atomic.Pointer[LastError]
}

// LastError is a provider's latest failed attempt.
type LastError struct {
	At      time.Time `json:"at"`
	Status  int       `json:"status"` // 0: no answer
	Message string    `json:"message"`
}

// record notes one attempt: how long it took and, when it failed, why.
func (h *health) record(latency time.Duration, status int, err error) {
	v := uint64(max(latency, 0))<<2 | 2
	if err != nil {
		v |= 1
		h.last.Store(&LastError{At: time.Now().UTC(), Status: status, Message: err.Error()})
	}
	i := h.n.Add(1) - 1
	h.recent[i%healthWindow].Store(v)
}

// Recent sums up a provider's latest attempts.
type Recent struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"latency_p50_ms"`
	P95ms    float64 `json:"latency_p95_ms"`
}

func (h *health) recentStats() Recent {
	var r Recent
	lat := make([]time.Duration, 0, healthWindow)
	for i := range h.recent {
		v := h.recent[i].Load()
		if v == 0 {
			continue
		}
		r.Requests++
		if v&1 != 0 {
			r.Errors++
		}
		lat = append(lat, time.Duration(v>>2))
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50ms = ms(lat[(len(lat)-1)*50/100])
		r.P95ms = ms(lat[(len(lat)-1)*95/100])
	}
	return r
}

// severity orders breaker states from healthy to out of rotation.
func severity(state string) int {
	switch state {
	case router.HalfOpen.String():
		return 1
	case router.Open.String():
		return 2
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Health is a provider's circuit breakers and latest attempts on this replica.
type Health struct {
	// State is the worst breaker state of its targets: closed, half_open or open.
	State     string         `json:"state"`
	Targets   []TargetHealth `json:"targets"`
	Recent    Recent         `json:"recent"`
	LastError *LastError     `json:"last_error,omitempty"`
}

// TargetHealth is the breaker of one provider/model.
type TargetHealth struct {
	Model          string    `json:"model"`
	State          string    `json:"state"`
	OpenUntil      time.Time `json:"open_until,omitzero"`
	InFlight       int64     `json:"in_flight"`
	Consecutive    int64     `json:"consecutive_failures"`
	WindowRequests int       `json:"window_requests"`
	WindowFailures int       `json:"window_failures"`
	EWMATTFBms     float64   `json:"ewma_ttfb_ms"`
}

// ProviderStats is one provider's worker pool and traffic, and, from ProviderStats, its health. GET /debug/pools
// and the pool metrics read Stats; the admin API's provider listing reads ProviderStats.
type ProviderStats struct {
	Pool   dispatch.Stats   `json:"pool"`
	Usage  map[string]int64 `json:"usage"`
	Health *Health          `json:"health,omitempty"`
}

// Stats reports every routed provider's worker pool and traffic counters.
func (e *Engine) Stats() map[string]ProviderStats {
	rt := e.routes()
	out := make(map[string]ProviderStats, len(rt.names))
	for _, up := range rt.list {
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
	h := up.healthOf(e.router.Registry().SnapshotProvider(name))
	st.Health = &h
	return st, true
}

// stats reads up's pool and traffic counters.
func (up *Upstream) stats() ProviderStats {
	return ProviderStats{Pool: up.Pool.Stats(), Usage: map[string]int64{
		"requests":          up.usage.requests.Load(),
		"errors":            up.usage.errors.Load(),
		"prompt_tokens":     up.usage.prompt.Load(),
		"completion_tokens": up.usage.completion.Load(),
	}}
}

// healthOf sums up up's latest attempts and the breakers of its targets.
func (up *Upstream) healthOf(targets []router.Snapshot) Health {
	h := Health{State: router.Closed.String(), Targets: []TargetHealth{}, Recent: up.health.recentStats(), LastError: up.health.last.Load()}
	worst := 0
	for _, t := range targets {
		h.Targets = append(h.Targets, TargetHealth{Model: t.Model, State: t.State, OpenUntil: t.OpenUntil, InFlight: t.InFlight,
			Consecutive: t.Consecutive, WindowRequests: t.WindowRequests, WindowFailures: t.WindowFailures, EWMATTFBms: ms(t.EWMA)})
		if s := severity(t.State); s > worst {
			worst, h.State = s, t.State
		}
	}
	return h
}
