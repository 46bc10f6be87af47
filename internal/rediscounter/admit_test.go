package rediscounter

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/redistest"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

const secret = "wk-CIbot0123456789abcdefghijABCDEFGHIJ0123456"

// govService is a governance.Service on a real SQLite store whose counters are in s.
func govService(t testing.TB, s *Store, cfg *governance.Config) *governance.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gov, err := governance.New(ctx, st, governance.Options{Counters: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gov.Seed(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return gov
}

// hierarchy: a key with rpm, tpm, rpd and a daily budget, under a team (tpm, budget) under a customer (rpm,
// budget) — seven counters, one EVALSHA per admission.
func hierarchy(rpm int64, usd float64) *governance.Config {
	return &governance.Config{
		Customers: []governance.CustomerConfig{{ID: "acme", Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1M"}, RateLimits: &governance.RateLimits{RPM: 1 << 38}}},
		Teams:     []governance.TeamConfig{{ID: "platform", Customer: "acme", Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1d"}, RateLimits: &governance.RateLimits{TPM: 1 << 39}}},
		VirtualKeys: []governance.VirtualKeyConfig{{ID: "k", Value: secret, Team: "platform",
			RateLimits: &governance.RateLimits{RPM: rpm, TPM: 1 << 39, RPD: 1 << 38}, Budget: &governance.BudgetConfig{MaxUSD: usd, Reset: "1d"}}},
	}
}

// TestRedisAdmitThroughGovernance: governance's Admit on Redis counters refuses at the limit with the denial and
// headers the in-memory path gives, and Settle corrects the estimate in Redis.
func TestRedisAdmitThroughGovernance(t *testing.T) {
	s := newStore(t, redistest.Start(t), nil)
	gov := govService(t, s, hierarchy(3, 1))
	p := gov.Authenticate(secret)
	ctx := context.Background()
	for i := range 3 {
		r, d := gov.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 100, Cost: 1000})
		if d != nil {
			t.Fatalf("request %d denied: %s", i, d.Message)
		}
		r.Settle(schema.Usage{PromptTokens: 5, CompletionTokens: 5}, 400)
	}
	_, d := gov.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 100, Cost: 1000})
	if d == nil || d.Message != "virtual key k: rpm 3" || d.Status != http.StatusTooManyRequests || d.RetryAfter <= 0 {
		t.Fatalf("4th request with rpm 3: %+v", d)
	}
	h := http.Header{}
	d.SetHeaders(h)
	if h.Get("x-ratelimit-limit-requests") != "3" || h.Get("x-ratelimit-remaining-requests") != "0" ||
		h.Get("x-ratelimit-limit-tokens") == "" || h.Get("Retry-After") == "" {
		t.Fatalf("denial headers %v", h)
	}
	for _, ls := range gov.Peek(p) {
		switch ls.Subject + " " + ls.Metric {
		case "virtual key k spend/1d":
			if ls.Status.Used != 1200 {
				t.Fatalf("key budget used %d; want 3 × 400 settled", ls.Status.Used)
			}
		case "virtual key k tpm":
			if ls.Status.Used != 30 {
				t.Fatalf("key tpm used %d; want 3 × 10 settled", ls.Status.Used)
			}
		}
	}
	// A budget refusal says what is left.
	gov2 := govService(t, newStore(t, redistest.Start(t), nil), hierarchy(100, 0.000001)) // 1,000 nano-USD
	p2 := gov2.Authenticate(secret)
	_, d = gov2.Admit(ctx, p2, "openai/gpt-4o-mini", governance.Estimate{Tokens: 1, Cost: 2000})
	if d == nil || d.Code != "budget_exceeded" || d.Left != 1000 || d.Need != 2000 {
		t.Fatalf("budget denial %+v", d)
	}
}

// TestRedisAdmitFailsClosedWith503: on_error: closed and Redis stopped — governance refuses with 503.
func TestRedisAdmitFailsClosedWith503(t *testing.T) {
	srv := redistest.Start(t)
	cfg := hierarchy(100, 1)
	const free = "wk-FREE0123456789abcdefghijABCDEFGHIJ0123456"
	cfg.VirtualKeys = append(cfg.VirtualKeys, governance.VirtualKeyConfig{ID: "free", Value: free})
	gov := govService(t, newStore(t, srv, func(c *Config) { c.OnError = FailClosed }), cfg)
	p := gov.Authenticate(secret)
	srv.Stop()
	_, d := gov.Admit(context.Background(), p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 1, Cost: 1})
	if d == nil || d.Status != http.StatusServiceUnavailable || d.Code != "counter_store_unavailable" {
		t.Fatalf("denial %+v", d)
	}
	// A key without limits needs no counter, hence no Redis.
	r, d := gov.Admit(context.Background(), gov.Authenticate(free), "openai/gpt-4o-mini", governance.Estimate{Tokens: 1, Cost: 1})
	if d != nil {
		t.Fatalf("a key without limits was refused with Redis down: %+v", d)
	}
	r.Release()
}

func benchGov(b *testing.B) (*governance.Service, *governance.Principal) {
	s := newStore(b, redistest.Start(b), nil)
	gov := govService(b, s, hierarchy(1<<38, 1e6))
	return gov, gov.Authenticate(secret)
}

// BenchmarkRedisAdmit: Admit (one EVALSHA over seven counters) then Settle below the estimate (one EVALSHA
// correcting the three token and three spend counters) against a local redis-server; compare BenchmarkAdmit in
// governance (in memory).
func BenchmarkRedisAdmit(b *testing.B) {
	gov, p := benchGov(b)
	ctx := context.Background()
	u := schema.Usage{PromptTokens: 1}
	b.ReportAllocs()
	for b.Loop() {
		r, d := gov.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3})
		if d != nil {
			b.Fatal(d.Message)
		}
		r.Settle(u, 2)
	}
}

// BenchmarkRedisAdmitLatency: 2 and 32 concurrent callers (Admit then Settle each); reports admission latency
// (Admit alone) p50 and p99, and ns/op is the inverse of throughput.
func BenchmarkRedisAdmitLatency(b *testing.B) {
	for _, par := range []int{1, 16} { // × GOMAXPROCS callers
		b.Run(fmt.Sprintf("callers=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			gov, p := benchGov(b)
			ctx := context.Background()
			u := schema.Usage{PromptTokens: 1}
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					r, d := gov.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3})
					mine = append(mine, time.Since(start))
					if d != nil {
						b.Error(d.Message)
						return
					}
					r.Settle(u, 2)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// TestRedisAdmitTarget: a provider level's limits (checked per attempt) are one ReserveAll too, and refuse at
// the limit across stores (replicas).
func TestRedisAdmitTarget(t *testing.T) {
	srv := redistest.Start(t)
	cfg := hierarchy(100, 1)
	cfg.Providers = []governance.ProviderConfig{{Name: "openai", RateLimits: &governance.RateLimits{RPM: 2}}}
	a, b := govService(t, newStore(t, srv, nil), cfg), govService(t, newStore(t, srv, nil), cfg)
	for i, gov := range []*governance.Service{a, b, a} {
		tg := gov.Target(gov.Authenticate(secret), "smart", "openai")
		r, d := gov.AdmitTarget(tg, governance.Estimate{Tokens: 1, Cost: 1})
		if want := i < 2; (d == nil) != want {
			t.Fatalf("attempt %d: denial %+v, want admitted=%v", i, d, want)
		}
		if d != nil && (d.Message != "provider openai: rpm 2" || d.RetryAfter <= 0) {
			t.Fatalf("denial %+v", d)
		}
		r.Settle(schema.Usage{PromptTokens: 1}, 1)
	}
}
