// Package health keeps a provider's latest attempts on this replica (a fixed ring the request path writes with
// two atomic stores and no allocation) and sums them up, with its targets' circuit breakers, for the admin API.
package health

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/router"
)

// Window is how many of a provider's latest attempts its figures cover.
const Window = 256

// Attempts is a provider's latest attempts. The zero value is ready.
type Attempts struct {
	n      atomic.Uint64
	recent [Window]atomic.Uint64 // latency ns << 2 | 2 (recorded) | 1 (failed); 0: not yet written
	last   atomic.Pointer[LastError]
}

// LastError is a provider's latest failed attempt.
type LastError struct {
	At      time.Time `json:"at"`
	Status  int       `json:"status"` // 0: no answer
	Message string    `json:"message"`
}

// Record notes one attempt: how long it took and, when it failed, why.
func (a *Attempts) Record(latency time.Duration, status int, err error) {
	v := uint64(max(latency, 0))<<2 | 2
	if err != nil {
		v |= 1
		a.last.Store(&LastError{At: time.Now().UTC(), Status: status, Message: err.Error()})
	}
	i := a.n.Add(1) - 1
	a.recent[i%Window].Store(v)
}

// Last is the latest failed attempt, nil for none.
func (a *Attempts) Last() *LastError { return a.last.Load() }

// Recent sums up a provider's latest attempts.
type Recent struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"latency_p50_ms"`
	P95ms    float64 `json:"latency_p95_ms"`
}

// Recent sums up the attempts in the window; percentiles are computed here, not on the request path.
func (a *Attempts) Recent() Recent {
	var r Recent
	lat := make([]time.Duration, 0, Window)
	for i := range a.recent {
		v := a.recent[i].Load()
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

// Of sums up a provider's latest attempts and the breakers of its targets.
func Of(a *Attempts, targets []router.Snapshot) Health {
	h := Health{State: router.Closed.String(), Targets: []TargetHealth{}, Recent: a.Recent(), LastError: a.Last()}
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

// Usage counts a provider's attempts, its failed ones, and the tokens they used, since start. The zero value is
// ready; the request path adds to it with atomics, no lock.
type Usage struct {
	requests, errors, prompt, completion atomic.Int64
}

// Count adds one attempt: failed (err set), or with the tokens it used.
func (u *Usage) Count(err error, prompt, completion int64) {
	u.requests.Add(1)
	if err != nil {
		u.errors.Add(1)
		return
	}
	u.prompt.Add(prompt)
	u.completion.Add(completion)
}

// Map is the counters by name, for /debug/pools, the pool metrics and the admin API.
func (u *Usage) Map() map[string]int64 {
	return map[string]int64{"requests": u.requests.Load(), "errors": u.errors.Load(),
		"prompt_tokens": u.prompt.Load(), "completion_tokens": u.completion.Load()}
}
