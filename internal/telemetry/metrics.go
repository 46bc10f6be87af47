// Package telemetry is Weir's observability: Prometheus metrics (Metrics, served on GET /metrics) and
// OpenTelemetry traces (SetupTracing, StartRequest, StartAttempt).
//
// Label sets are bounded. route is the inbound route pattern (never the raw path), provider and model are
// configured names, alias is a configured alias or "", status_class is 1xx…5xx or "none". Per-key/per-team
// series (MetricsOptions.PerKey) carry the virtual key's id (never its secret) and its team id: their number
// is bounded by the number of configured keys. As a guard against unbounded model names reaching the labels,
// once MetricsOptions.MaxSeries distinct label tuples have been seen, new tuples are folded into
// model="other" / alias="other".
package telemetry

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Record is what the gateway reports once per finished request. It is a plain value: fill it on the stack
// and pass its address to Metrics.Observe.
type Record struct {
	Route    string // inbound route pattern, e.g. "/v1/chat/completions"
	Alias    string // configured alias the caller named, or ""
	Provider string // provider that answered (or failed last); "" if none was tried
	Model    string // upstream model
	Status   int    // final HTTP status sent to the caller (0: none)
	Stream   bool

	Duration time.Duration // total, request received → last byte written
	TTFB     time.Duration // time to first byte to the caller (0: none written)
	Upstream time.Duration // time spent in upstream calls (sum of attempts' latencies)

	InputTokens  int64
	OutputTokens int64
	CostNanoUSD  int64 // pricing.Money

	Attempts   int // upstream calls made
	ModelCalls int // model calls served (one per request; agent mode makes several), each of one or more attempts
	Retries    int // attempts repeating a target already tried
	Fallbacks  int // moves to another target

	// KeyID and TeamID are the virtual key's id and team, used only when MetricsOptions.PerKey is on.
	KeyID  string
	TeamID string
}

// PoolStats is one provider worker pool's state, read on scrape.
type PoolStats struct {
	Queued   int64
	InFlight int64
	Dropped  int64 // cumulative
}

// Breaker states for SetBreakerState.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

// MetricsOptions tunes Metrics; the zero value is usable.
type MetricsOptions struct {
	// PerKey adds weir_key_* series labelled with the virtual key id and team id (bounded by the number of
	// configured keys; leave off when keys are created dynamically in large numbers).
	PerKey bool `yaml:"per_key"`
	// MaxSeries caps distinct (route, provider, model, alias, status_class) tuples; beyond it, model and alias
	// become "other". Default 10,000.
	MaxSeries int `yaml:"max_series"`
	// NoRuntime leaves out the Go runtime and process collectors (tests).
	NoRuntime bool `yaml:"-"`
}

// Metrics holds every Weir metric on its own registry.
type Metrics struct {
	reg  *prometheus.Registry
	opts MetricsOptions

	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttfb      *prometheus.HistogramVec
	upstream  *prometheus.HistogramVec
	overhead  *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	retries   *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	calls     *prometheus.CounterVec
	breaker   *prometheus.GaugeVec
	ratelimit *prometheus.CounterVec

	keyRequests *prometheus.CounterVec
	keyTokens   *prometheus.CounterVec
	keyCost     *prometheus.CounterVec

	series  sync.Map // seriesKey → *series
	nSeries atomic.Int64
	keys    sync.Map // keyKey → *keySeries
	kinds   sync.Map // string → prometheus.Counter

	pools   atomic.Pointer[func() map[string]PoolStats]
	logQ    atomic.Pointer[func() int]
	logDrop atomic.Pointer[func() uint64]
}

type seriesKey struct {
	route, provider, model, alias string
	class                         uint8
}

// series is every child a request touches, resolved once per label tuple.
type series struct {
	requests  prometheus.Counter
	duration  prometheus.Observer
	ttfb      prometheus.Observer
	upstream  prometheus.Observer
	overhead  prometheus.Observer
	tokensIn  prometheus.Counter
	tokensOut prometheus.Counter
	cost      prometheus.Counter
	retries   prometheus.Counter
	fallbacks prometheus.Counter
	calls     prometheus.Counter
}

type keyKey struct{ key, team string }

type keySeries struct {
	requests  prometheus.Counter
	tokensIn  prometheus.Counter
	tokensOut prometheus.Counter
	cost      prometheus.Counter
}

// LatencyBuckets are the histogram buckets in seconds: 10µs to 60s on a 1–2.5–5 exponential scale (21
// buckets) — fine enough for microsecond gateway overhead and wide enough for long streams.
var LatencyBuckets = []float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10, 25, 60,
}

var statusClasses = [...]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(code int) uint8 {
	if code < 100 || code > 599 {
		return 0
	}
	return uint8(code / 100)
}

// NewMetrics creates the metrics on a fresh registry.
func NewMetrics(opts MetricsOptions) *Metrics {
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = 10_000
	}
	m := &Metrics{reg: prometheus.NewRegistry(), opts: opts}
	hist := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: LatencyBuckets}, labels)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m.requests = counter("weir_requests_total", "Requests served, by inbound route, provider, model, alias and status class.",
		"route", "provider", "model", "alias", "status_class")
	m.duration = hist("weir_request_duration_seconds", "Total request duration, from receipt to the last byte written.",
		"route", "provider", "model")
	m.ttfb = hist("weir_time_to_first_byte_seconds", "Time to the first byte written to the caller.",
		"route", "provider", "model")
	m.upstream = hist("weir_upstream_duration_seconds", "Time spent in upstream calls (all attempts) per request.",
		"provider", "model")
	m.overhead = hist("weir_gateway_overhead_seconds", "Gateway overhead per request: total duration minus upstream time.",
		"route")
	m.tokens = counter("weir_tokens_total", "Tokens processed, by direction (input|output).", "provider", "model", "direction")
	m.cost = counter("weir_cost_usd_total", "Cost in US dollars.", "provider", "model")
	m.retries = counter("weir_retries_total", "Upstream retries, by the request's final provider and model.", "provider", "model")
	m.fallbacks = counter("weir_fallbacks_total", "Fallbacks to another target, by the request's final provider and model.", "provider", "model")
	m.calls = counter("weir_model_calls_total", "Model calls, by the request's final provider and model: one per request, several for an agent-mode request (retries and fallbacks of a call are not counted again).", "provider", "model")
	m.breaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "weir_breaker_state",
		Help: "Circuit breaker / cooldown state per target: 0 closed, 1 half-open, 2 open."}, []string{"provider", "model"})
	m.ratelimit = counter("weir_ratelimit_rejections_total", "Requests refused by a limit, by kind (rpm, tpm, budget, concurrency, …).", "kind")
	m.reg.MustRegister(m.requests, m.duration, m.ttfb, m.upstream, m.overhead, m.tokens, m.cost, m.retries,
		m.fallbacks, m.calls, m.breaker, m.ratelimit)
	if opts.PerKey {
		m.keyRequests = counter("weir_key_requests_total", "Requests per virtual key id (bounded by the configured keys).", "key", "team")
		m.keyTokens = counter("weir_key_tokens_total", "Tokens per virtual key id and direction.", "key", "team", "direction")
		m.keyCost = counter("weir_key_cost_usd_total", "Cost in US dollars per virtual key id.", "key", "team")
		m.reg.MustRegister(m.keyRequests, m.keyTokens, m.keyCost)
	}
	m.reg.MustRegister(poolCollector{m})
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weir_requestlog_queue_depth",
		Help: "Request-log records waiting to be written."}, func() float64 {
		if f := m.logQ.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_requestlog_dropped_total",
		Help: "Request-log records dropped (queue full, writer closed, or store unavailable)."}, func() float64 {
		if f := m.logDrop.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	}))
	if !opts.NoRuntime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry is the registry the metrics live on (to add more collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or OpenMetrics) format, for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Observe records one finished request. Safe for concurrent use; allocation-free once the request's label
// tuple has been seen.
func (m *Metrics) Observe(r *Record) {
	s := m.seriesFor(r)
	s.requests.Inc()
	s.duration.Observe(r.Duration.Seconds())
	if r.TTFB > 0 {
		s.ttfb.Observe(r.TTFB.Seconds())
	}
	if r.Upstream > 0 {
		s.upstream.Observe(r.Upstream.Seconds())
	}
	over := r.Duration - r.Upstream
	if over < 0 {
		over = 0
	}
	s.overhead.Observe(over.Seconds())
	if r.InputTokens > 0 {
		s.tokensIn.Add(float64(r.InputTokens))
	}
	if r.OutputTokens > 0 {
		s.tokensOut.Add(float64(r.OutputTokens))
	}
	if r.CostNanoUSD > 0 {
		s.cost.Add(float64(r.CostNanoUSD) / 1e9)
	}
	if r.Retries > 0 {
		s.retries.Add(float64(r.Retries))
	}
	if r.Fallbacks > 0 {
		s.fallbacks.Add(float64(r.Fallbacks))
	}
	if r.ModelCalls > 0 {
		s.calls.Add(float64(r.ModelCalls))
	}
	if m.opts.PerKey && r.KeyID != "" {
		k := m.keySeriesFor(r.KeyID, r.TeamID)
		k.requests.Inc()
		if r.InputTokens > 0 {
			k.tokensIn.Add(float64(r.InputTokens))
		}
		if r.OutputTokens > 0 {
			k.tokensOut.Add(float64(r.OutputTokens))
		}
		if r.CostNanoUSD > 0 {
			k.cost.Add(float64(r.CostNanoUSD) / 1e9)
		}
	}
}

func (m *Metrics) seriesFor(r *Record) *series {
	k := seriesKey{route: r.Route, provider: r.Provider, model: r.Model, alias: r.Alias, class: statusClass(r.Status)}
	if v, ok := m.series.Load(k); ok {
		return v.(*series)
	}
	if m.nSeries.Load() >= int64(m.opts.MaxSeries) {
		k.model, k.alias = "other", "other"
		if r.Alias == "" {
			k.alias = ""
		}
		if v, ok := m.series.Load(k); ok {
			return v.(*series)
		}
	}
	s := &series{
		requests:  m.requests.WithLabelValues(k.route, k.provider, k.model, k.alias, statusClasses[k.class]),
		duration:  m.duration.WithLabelValues(k.route, k.provider, k.model),
		ttfb:      m.ttfb.WithLabelValues(k.route, k.provider, k.model),
		upstream:  m.upstream.WithLabelValues(k.provider, k.model),
		overhead:  m.overhead.WithLabelValues(k.route),
		tokensIn:  m.tokens.WithLabelValues(k.provider, k.model, "input"),
		tokensOut: m.tokens.WithLabelValues(k.provider, k.model, "output"),
		cost:      m.cost.WithLabelValues(k.provider, k.model),
		retries:   m.retries.WithLabelValues(k.provider, k.model),
		fallbacks: m.fallbacks.WithLabelValues(k.provider, k.model),
		calls:     m.calls.WithLabelValues(k.provider, k.model),
	}
	v, loaded := m.series.LoadOrStore(k, s)
	if !loaded {
		m.nSeries.Add(1)
	}
	return v.(*series)
}

func (m *Metrics) keySeriesFor(key, team string) *keySeries {
	k := keyKey{key, team}
	if v, ok := m.keys.Load(k); ok {
		return v.(*keySeries)
	}
	s := &keySeries{
		requests:  m.keyRequests.WithLabelValues(key, team),
		tokensIn:  m.keyTokens.WithLabelValues(key, team, "input"),
		tokensOut: m.keyTokens.WithLabelValues(key, team, "output"),
		cost:      m.keyCost.WithLabelValues(key, team),
	}
	v, _ := m.keys.LoadOrStore(k, s)
	return v.(*keySeries)
}

// ForgetKey removes a deleted virtual key's weir_key_* series.
func (m *Metrics) ForgetKey(keyID string) {
	if !m.opts.PerKey {
		return
	}
	m.keys.Range(func(k, _ any) bool {
		if kk := k.(keyKey); kk.key == keyID {
			m.keys.Delete(k)
		}
		return true
	})
	m.keyRequests.DeletePartialMatch(prometheus.Labels{"key": keyID})
	m.keyTokens.DeletePartialMatch(prometheus.Labels{"key": keyID})
	m.keyCost.DeletePartialMatch(prometheus.Labels{"key": keyID})
}

// RateLimited counts a request refused by a limit of the given kind ("rpm", "tpm", "budget", "concurrency", …;
// a small fixed set chosen by the caller, never user input).
func (m *Metrics) RateLimited(kind string) {
	if v, ok := m.kinds.Load(kind); ok {
		v.(prometheus.Counter).Inc()
		return
	}
	c := m.ratelimit.WithLabelValues(kind)
	v, _ := m.kinds.LoadOrStore(kind, c)
	v.(prometheus.Counter).Inc()
}

// SetBreakerState sets a target's circuit-breaker (cooldown) state: BreakerClosed, BreakerHalfOpen or
// BreakerOpen. Call it on transitions, not per request.
func (m *Metrics) SetBreakerState(provider, model string, state int) {
	m.breaker.WithLabelValues(provider, model).Set(float64(state))
}

// SetPoolStats installs the callback read on each scrape for weir_pool_queue_depth, weir_pool_in_flight and
// weir_pool_dropped_total, keyed by provider name.
func (m *Metrics) SetPoolStats(f func() map[string]PoolStats) {
	if f == nil {
		m.pools.Store(nil)
		return
	}
	m.pools.Store(&f)
}

// SetRequestLogStats installs the callbacks read on each scrape for weir_requestlog_queue_depth and
// weir_requestlog_dropped_total (e.g. requestlog.Writer's QueueDepth and Dropped).
func (m *Metrics) SetRequestLogStats(depth func() int, dropped func() uint64) {
	if depth != nil {
		m.logQ.Store(&depth)
	}
	if dropped != nil {
		m.logDrop.Store(&dropped)
	}
}

var (
	poolQueueDesc    = prometheus.NewDesc("weir_pool_queue_depth", "Requests waiting for a provider worker-pool slot.", []string{"provider"}, nil)
	poolInFlightDesc = prometheus.NewDesc("weir_pool_in_flight", "Requests holding a provider worker-pool slot.", []string{"provider"}, nil)
	poolDroppedDesc  = prometheus.NewDesc("weir_pool_dropped_total", "Requests dropped by a full provider worker pool.", []string{"provider"}, nil)
)

// poolCollector reads the pool callback on scrape.
type poolCollector struct{ m *Metrics }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolQueueDesc
	ch <- poolInFlightDesc
	ch <- poolDroppedDesc
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.pools.Load()
	if f == nil {
		return
	}
	for name, s := range (*f)() {
		ch <- prometheus.MustNewConstMetric(poolQueueDesc, prometheus.GaugeValue, float64(s.Queued), name)
		ch <- prometheus.MustNewConstMetric(poolInFlightDesc, prometheus.GaugeValue, float64(s.InFlight), name)
		ch <- prometheus.MustNewConstMetric(poolDroppedDesc, prometheus.CounterValue, float64(s.Dropped), name)
	}
}

// StatusClass is the status_class label value of an HTTP status.
func StatusClass(code int) string { return statusClasses[statusClass(code)] }
