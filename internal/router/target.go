package router

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ewmaAlpha weights the newest time-to-first-byte sample: 0.2 follows a change within ~10 samples
// without letting one slow request flip the lowest-latency order.
const ewmaAlpha = 0.2

// TargetState is the live state of one "provider/model", shared by every alias that names it so a
// provider failing under one alias is avoided under all. Every field is an atomic: the hot path takes no lock.
type TargetState struct {
	Provider, Model string
	key             string
	dynamic         bool // created for a caller's "provider/model", counted against maxDynamic

	inflight atomic.Int64
	ewma     atomic.Uint64 // math.Float64bits of nanoseconds; 0 = no successful sample yet
	samples  atomic.Int64  // outcomes seen (success or failure); 0 = untried
	breaker  breaker
	now      func() time.Time
}

func newTargetState(provider, model string, cfg BreakerConfig, now func() time.Time) *TargetState {
	// The names may view a caller's request buffer, which is reused after the request: the registry keeps its
	// own copies.
	provider, model = strings.Clone(provider), strings.Clone(model)
	t := &TargetState{Provider: provider, Model: model, key: provider + "/" + model, now: now}
	c := cfg.withDefaults()
	t.breaker.cfg.Store(&c)
	return t
}

// Key is "provider/model".
func (t *TargetState) Key() string { return t.key }

// Begin marks a request in flight (least-busy reads it). Pair every Begin with End or Cancel.
func (t *TargetState) Begin() { t.inflight.Add(1) }

// End records a finished attempt: ttfb is the time to the first byte (or until the failure), ok whether
// the answer was usable, status the upstream HTTP status (0 when there was none), retryAfter the parsed
// Retry-After (0 if absent). Client errors (400, 404, …) do not count against the breaker; a 429 with
// Retry-After opens it for exactly that long. Use Attempt.End for attempts from a Plan so a half-open
// probe is recognised.
func (t *TargetState) End(ttfb time.Duration, ok bool, status int, retryAfter time.Duration) {
	t.end(false, ttfb, ok, status, retryAfter)
}

// Cancel ends an attempt without judging the target (the client went away before an answer).
func (t *TargetState) Cancel() { t.cancel(false) }

func (t *TargetState) cancel(probe bool) {
	t.inflight.Add(-1)
	if probe {
		t.breaker.release(nanos(t.now()))
	}
}

func (t *TargetState) end(probe bool, ttfb time.Duration, ok bool, status int, retryAfter time.Duration) {
	t.inflight.Add(-1)
	t.samples.Add(1)
	now := nanos(t.now())
	fault := providerFault(ok, status)
	if ok && ttfb > 0 {
		t.observe(float64(ttfb))
	} else if fault {
		// A failure pushes the average up (it never pulls it down: a fast 500 is not a fast target),
		// so lowest-latency drifts away from a flaky target before its breaker opens.
		if cur := math.Float64frombits(t.ewma.Load()); cur > 0 {
			t.observe(max(float64(ttfb), 2*cur))
		}
	}
	if status == 429 && retryAfter > 0 {
		// The provider told us when it will take requests again: believe it exactly.
		t.breaker.count(now, t.breaker.config(), true)
		t.breaker.trip(addSat(now, retryAfter))
		return
	}
	t.breaker.record(now, fault, probe)
}

// addSat adds without wrapping: an absurd Retry-After must keep the breaker open, not close it.
func addSat(now int64, d time.Duration) int64 {
	if int64(d) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(d)
}

func (t *TargetState) observe(sample float64) {
	for {
		old := t.ewma.Load()
		cur := math.Float64frombits(old)
		next := sample
		if cur > 0 {
			next = cur + ewmaAlpha*(sample-cur)
		}
		if t.ewma.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

// InFlight is the number of attempts between Begin and End.
func (t *TargetState) InFlight() int64 { return t.inflight.Load() }

// EWMA is the moving average time to first byte; 0 until a successful attempt.
func (t *TargetState) EWMA() time.Duration {
	return time.Duration(math.Float64frombits(t.ewma.Load()))
}

// Allow reports whether the breaker lets a request through now; true with probe=true means this caller
// holds the single half-open probe and must report its outcome (Attempt.End / Cancel).
func (t *TargetState) Allow() (ok, probe bool) { return t.breaker.allow(nanos(t.now())) }

// Snapshot is the debug view of one target.
type Snapshot struct {
	Target    string        `json:"target"`
	Provider  string        `json:"-"`
	Model     string        `json:"-"`
	State     string        `json:"state"`
	InFlight  int64         `json:"in_flight"`
	EWMA      time.Duration `json:"ewma_ttfb_ns"`
	OpenUntil time.Time     `json:"open_until,omitzero"`
	// Consecutive provider failures and the sliding window's counts.
	Consecutive    int64 `json:"consecutive_failures"`
	WindowRequests int   `json:"window_requests"`
	WindowFailures int   `json:"window_failures"`
}

// State returns a snapshot for the debug endpoint. An open breaker whose cooldown has passed reports
// half_open: the next request will be its probe.
func (t *TargetState) State() Snapshot {
	now := nanos(t.now())
	st, until := unpack(t.breaker.word.Load())
	if st == Open && now >= until {
		st = HalfOpen
	}
	total, fails := t.breaker.windowCounts(now, t.breaker.config())
	s := Snapshot{
		Target: t.key, Provider: t.Provider, Model: t.Model, State: st.String(), InFlight: t.InFlight(), EWMA: t.EWMA(),
		Consecutive: t.breaker.consecutive.Load(), WindowRequests: total, WindowFailures: fails,
	}
	if st != Closed {
		s.OpenUntil = time.Unix(0, until)
	}
	return s
}

// maxDynamic bounds the targets created on demand for "provider/model" names sent by callers, so
// arbitrary model strings cannot grow the registry without limit. Beyond it a target gets a private,
// unshared state (it still works; it just does not remember anything across requests).
const maxDynamic = 4096

// Registry maps "provider/model" to its shared TargetState. Keep one Registry across config reloads so
// breakers and latency averages survive. Reads are lock-free (sync.Map); creation is rare.
type Registry struct {
	m       sync.Map // string -> *TargetState
	mu      sync.Mutex
	dynamic atomic.Int64
	now     func() time.Time
	breaker atomic.Pointer[BreakerConfig] // default for targets created on demand
}

// NewRegistry makes an empty registry; now is the clock (nil: time.Now).
func NewRegistry(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	r := &Registry{now: now}
	d := DefaultBreaker
	r.breaker.Store(&d)
	return r
}

// Lookup returns the state of "provider/model" if it exists.
func (r *Registry) Lookup(provider, model string) *TargetState {
	if v, ok := r.m.Load(provider + "/" + model); ok {
		return v.(*TargetState)
	}
	return nil
}

// Get returns the state of provider/model, creating it with the registry's default breaker settings.
func (r *Registry) Get(provider, model string) *TargetState {
	return r.get(provider, model, false)
}

func (r *Registry) get(provider, model string, dynamic bool) *TargetState {
	key := provider + "/" + model
	if v, ok := r.m.Load(key); ok {
		return v.(*TargetState)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.m.Load(key); ok {
		return v.(*TargetState)
	}
	t := newTargetState(provider, model, *r.breaker.Load(), r.now)
	if dynamic {
		if r.dynamic.Add(1) > maxDynamic {
			r.dynamic.Add(-1)
			return t
		}
		t.dynamic = true
	}
	r.m.Store(key, t)
	return t
}

// Forget drops every target of provider, so a provider changed or removed at run time starts again with closed
// breakers and no latency history. Requests holding a dropped state finish on it; new ones get a fresh state.
// Targets an alias names are the config file's and are not forgotten (their provider cannot change at run time).
func (r *Registry) Forget(provider string) {
	prefix := provider + "/"
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m.Range(func(k, v any) bool {
		if t := v.(*TargetState); t.dynamic && strings.HasPrefix(k.(string), prefix) {
			r.m.Delete(k)
			r.dynamic.Add(-1)
		}
		return true
	})
}

// SnapshotProvider lists the states of provider's targets, sorted by model.
func (r *Registry) SnapshotProvider(provider string) []Snapshot {
	var out []Snapshot
	r.m.Range(func(_, v any) bool {
		if t := v.(*TargetState); t.Provider == provider {
			out = append(out, t.State())
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// Snapshot lists every target's state sorted by key, for a debug endpoint.
func (r *Registry) Snapshot() []Snapshot {
	var out []Snapshot
	r.m.Range(func(_, v any) bool {
		out = append(out, v.(*TargetState).State())
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// splitTarget splits "provider/model" at the first slash (model names may contain more slashes,
// e.g. "openrouter/meta-llama/llama-3-70b").
func splitTarget(s string) (provider, model string, ok bool) {
	provider, model, ok = strings.Cut(s, "/")
	return provider, model, ok && provider != "" && model != ""
}
