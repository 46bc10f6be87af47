package telemetry

import (
	"fmt"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// flatten gathers the registry into "name{k=v,...}" → value (counters, gauges; histograms give _count and _sum).
func flatten(t *testing.T, m *Metrics, prefix string) map[string]float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var ls []string
			for _, lp := range mt.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(ls)
			key := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = mt.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = mt.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[mf.GetName()+"_count{"+strings.Join(ls, ",")+"}"] = float64(mt.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum{"+strings.Join(ls, ",")+"}"] = mt.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func assertSeries(t *testing.T, got map[string]float64, prefix string, want map[string]float64) {
	t.Helper()
	for k, v := range got {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		w, ok := want[k]
		if !ok {
			t.Errorf("unexpected series %s = %v", k, v)
			continue
		}
		if diff := v - w; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s = %v, want %v", k, v, w)
		}
	}
	for k, w := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("missing series %s (want %v)", k, w)
		}
	}
}

func TestMetricsKnownSequence(t *testing.T) {
	m := NewMetrics(MetricsOptions{PerKey: true, NoRuntime: true})
	const chat = "/v1/chat/completions"
	recs := []Record{
		{Route: chat, Provider: "openai", Model: "gpt-4o", Status: 200, Duration: 120 * time.Millisecond,
			TTFB: 50 * time.Millisecond, Upstream: 119 * time.Millisecond, InputTokens: 10, OutputTokens: 20,
			CostNanoUSD: 1_500_000, Attempts: 1, KeyID: "key-a", TeamID: "team-1"},
		{Route: chat, Alias: "smart", Provider: "openai", Model: "gpt-4o", Status: 200, Duration: 80 * time.Millisecond,
			Upstream: 79 * time.Millisecond, InputTokens: 5, OutputTokens: 7, CostNanoUSD: 500_000, Attempts: 3,
			Retries: 1, Fallbacks: 1, KeyID: "key-a", TeamID: "team-1"},
		{Route: chat, Alias: "smart", Provider: "anthropic", Model: "claude", Status: 503, Duration: 30 * time.Millisecond,
			Upstream: 29 * time.Millisecond, Attempts: 2, Retries: 1, KeyID: "key-b"},
		{Route: "/v1/embeddings", Status: 404, Duration: 40 * time.Microsecond},
	}
	for i := range recs {
		m.Observe(&recs[i])
	}
	m.RateLimited("rpm")
	m.RateLimited("rpm")
	m.RateLimited("budget")
	m.SetBreakerState("anthropic", "claude", BreakerOpen)
	m.SetPoolStats(func() map[string]PoolStats {
		return map[string]PoolStats{"openai": {Queued: 3, InFlight: 7, Dropped: 11}}
	})
	m.SetRequestLogStats(func() int { return 42 }, func() uint64 { return 5 })

	got := flatten(t, m, "weir_")
	assertSeries(t, got, "weir_requests_total", map[string]float64{
		"weir_requests_total{alias=,model=gpt-4o,provider=openai,route=/v1/chat/completions,status_class=2xx}":         1,
		"weir_requests_total{alias=smart,model=gpt-4o,provider=openai,route=/v1/chat/completions,status_class=2xx}":    1,
		"weir_requests_total{alias=smart,model=claude,provider=anthropic,route=/v1/chat/completions,status_class=5xx}": 1,
		"weir_requests_total{alias=,model=,provider=,route=/v1/embeddings,status_class=4xx}":                           1,
	})
	assertSeries(t, got, "weir_tokens_total", map[string]float64{
		"weir_tokens_total{direction=input,model=gpt-4o,provider=openai}":     15,
		"weir_tokens_total{direction=output,model=gpt-4o,provider=openai}":    27,
		"weir_tokens_total{direction=input,model=claude,provider=anthropic}":  0,
		"weir_tokens_total{direction=output,model=claude,provider=anthropic}": 0,
		"weir_tokens_total{direction=input,model=,provider=}":                 0,
		"weir_tokens_total{direction=output,model=,provider=}":                0,
	})
	assertSeries(t, got, "weir_cost_usd_total", map[string]float64{
		"weir_cost_usd_total{model=gpt-4o,provider=openai}":    0.002,
		"weir_cost_usd_total{model=claude,provider=anthropic}": 0,
		"weir_cost_usd_total{model=,provider=}":                0,
	})
	assertSeries(t, got, "weir_retries_total", map[string]float64{
		"weir_retries_total{model=gpt-4o,provider=openai}":    1,
		"weir_retries_total{model=claude,provider=anthropic}": 1,
		"weir_retries_total{model=,provider=}":                0,
	})
	assertSeries(t, got, "weir_fallbacks_total", map[string]float64{
		"weir_fallbacks_total{model=gpt-4o,provider=openai}":    1,
		"weir_fallbacks_total{model=claude,provider=anthropic}": 0,
		"weir_fallbacks_total{model=,provider=}":                0,
	})
	assertSeries(t, got, "weir_request_duration_seconds_count", map[string]float64{
		"weir_request_duration_seconds_count{model=gpt-4o,provider=openai,route=/v1/chat/completions}":    2,
		"weir_request_duration_seconds_count{model=claude,provider=anthropic,route=/v1/chat/completions}": 1,
		"weir_request_duration_seconds_count{model=,provider=,route=/v1/embeddings}":                      1,
	})
	assertSeries(t, got, "weir_time_to_first_byte_seconds_count", map[string]float64{
		"weir_time_to_first_byte_seconds_count{model=gpt-4o,provider=openai,route=/v1/chat/completions}":    1,
		"weir_time_to_first_byte_seconds_count{model=claude,provider=anthropic,route=/v1/chat/completions}": 0,
		"weir_time_to_first_byte_seconds_count{model=,provider=,route=/v1/embeddings}":                      0,
	})
	assertSeries(t, got, "weir_gateway_overhead_seconds_count", map[string]float64{
		"weir_gateway_overhead_seconds_count{route=/v1/chat/completions}": 3,
		"weir_gateway_overhead_seconds_count{route=/v1/embeddings}":       1,
	})
	// Overhead: 1ms + 1ms + 1ms + 40µs.
	if s := got["weir_gateway_overhead_seconds_sum{route=/v1/chat/completions}"]; s < 0.003-1e-9 || s > 0.003+1e-9 {
		t.Errorf("overhead sum = %v, want 0.003", s)
	}
	assertSeries(t, got, "weir_key_requests_total", map[string]float64{
		"weir_key_requests_total{key=key-a,team=team-1}": 2,
		"weir_key_requests_total{key=key-b,team=}":       1,
	})
	assertSeries(t, got, "weir_key_cost_usd_total", map[string]float64{
		"weir_key_cost_usd_total{key=key-a,team=team-1}": 0.002,
		"weir_key_cost_usd_total{key=key-b,team=}":       0,
	})
	assertSeries(t, got, "weir_ratelimit_rejections_total", map[string]float64{
		"weir_ratelimit_rejections_total{kind=rpm}":    2,
		"weir_ratelimit_rejections_total{kind=budget}": 1,
	})
	assertSeries(t, got, "weir_breaker_state", map[string]float64{
		"weir_breaker_state{model=claude,provider=anthropic}": 2,
	})
	assertSeries(t, got, "weir_pool_", map[string]float64{
		"weir_pool_queue_depth{provider=openai}":   3,
		"weir_pool_in_flight{provider=openai}":     7,
		"weir_pool_dropped_total{provider=openai}": 11,
	})
	assertSeries(t, got, "weir_requestlog_", map[string]float64{
		"weir_requestlog_queue_depth{}":   42,
		"weir_requestlog_dropped_total{}": 5,
	})

	m.ForgetKey("key-a")
	got = flatten(t, m, "weir_key_requests_total")
	assertSeries(t, got, "weir_key_requests_total", map[string]float64{"weir_key_requests_total{key=key-b,team=}": 1})
}

func TestMetricsHandlerAndRuntime(t *testing.T) {
	m := NewMetrics(MetricsOptions{})
	m.Observe(&Record{Route: "/v1/chat/completions", Provider: "openai", Model: "gpt-4o", Status: 200, Duration: 15 * time.Microsecond})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`weir_requests_total{alias="",model="gpt-4o",provider="openai",route="/v1/chat/completions",status_class="2xx"} 1`,
		`weir_gateway_overhead_seconds_bucket{route="/v1/chat/completions",le="1e-05"} 0`,
		`weir_gateway_overhead_seconds_bucket{route="/v1/chat/completions",le="2.5e-05"} 1`,
		"go_goroutines",
		"process_",
		"weir_requestlog_dropped_total 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestMetricsSeriesCap(t *testing.T) {
	m := NewMetrics(MetricsOptions{MaxSeries: 3, NoRuntime: true})
	for i := 0; i < 10; i++ {
		m.Observe(&Record{Route: "/v1/chat/completions", Provider: "p", Model: fmt.Sprintf("m%d", i), Status: 200})
	}
	got := flatten(t, m, "weir_requests_total")
	if len(got) != 4 {
		t.Fatalf("series = %d, want 3 + other: %v", len(got), got)
	}
	if v := got["weir_requests_total{alias=,model=other,provider=p,route=/v1/chat/completions,status_class=2xx}"]; v != 7 {
		t.Fatalf("other = %v, want 7", v)
	}
}

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]string{0: "none", 200: "2xx", 299: "2xx", 404: "4xx", 499: "4xx", 503: "5xx", 700: "none"} {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %s, want %s", code, got, want)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	m := NewMetrics(MetricsOptions{PerKey: true, NoRuntime: true})
	r := Record{Route: "/v1/chat/completions", Alias: "smart", Provider: "openai", Model: "gpt-4o", Status: 200,
		Duration: 120 * time.Millisecond, TTFB: 40 * time.Millisecond, Upstream: 119 * time.Millisecond,
		InputTokens: 100, OutputTokens: 200, CostNanoUSD: 12345, Attempts: 1, KeyID: "key-a", TeamID: "team-1"}
	m.Observe(&r)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(&r)
		}
	})
}
