package governance

import (
	"context"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

func benchService(b *testing.B) (*Service, string) {
	clk := newClock()
	cfg := &Config{
		Customers: []CustomerConfig{{ID: "acme", Budget: &BudgetConfig{MaxUSD: 1e6, Reset: "1M"}, RateLimits: &RateLimits{RPM: 1 << 38}}},
		Teams:     []TeamConfig{{ID: "platform", Customer: "acme", Budget: &BudgetConfig{MaxUSD: 1e6, Reset: "1d"}, RateLimits: &RateLimits{TPM: 1 << 39}}},
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: ciSecret, Team: "platform",
			RateLimits: &RateLimits{RPM: 1 << 38, TPM: 1 << 39, RPD: 1 << 38}, Budget: &BudgetConfig{MaxUSD: 1e6, Reset: "1d"}}},
	}
	s, _ := newService(b, memStore(b), clk, cfg)
	s.opt.Now = time.Now // the real clock: the benchmark measures production cost
	return s, ciSecret
}

// BenchmarkAdmit: in-memory check-and-reserve + settle for a key with a team and a customer
// (7 counters: key rpm/tpm/rpd/budget, team tpm/budget, customer rpm/budget).
func BenchmarkAdmit(b *testing.B) {
	s, secret := benchService(b)
	p := s.Authenticate(secret)
	ctx := context.Background()
	u := schema.Usage{PromptTokens: 1, CompletionTokens: 1}
	b.ReportAllocs()
	for b.Loop() {
		r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", Estimate{Tokens: 2, Cost: 3})
		if d != nil {
			b.Fatal(d.Message)
		}
		r.Settle(u, 3)
	}
}

func BenchmarkAdmitParallel(b *testing.B) {
	s, secret := benchService(b)
	p := s.Authenticate(secret)
	ctx := context.Background()
	u := schema.Usage{PromptTokens: 1, CompletionTokens: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", Estimate{Tokens: 2, Cost: 3})
			if d != nil {
				b.Fatal(d.Message)
			}
			r.Settle(u, 3)
		}
	})
}

// BenchmarkAuthLookup: SHA-256 of the secret plus one map read from the current snapshot.
func BenchmarkAuthLookup(b *testing.B) {
	s, secret := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if s.Authenticate(secret) == nil {
			b.Fatal("not found")
		}
	}
}
