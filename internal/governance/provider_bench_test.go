package governance

import (
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

// BenchmarkTargetNone: the per-attempt check when no provider level is configured and the key has no
// provider_limits — what every attempt pays when the feature is unused.
func BenchmarkTargetNone(b *testing.B) {
	s, secret := benchService(b)
	p := s.Authenticate(secret)
	b.ReportAllocs()
	for b.Loop() {
		if !s.Target(p, "smart", "openai").Empty() {
			b.Fatal("target limits")
		}
	}
}

// BenchmarkAdmitTarget: check-and-reserve + settle on a provider level with a budget and two rate limits.
func BenchmarkAdmitTarget(b *testing.B) {
	clk := newClock()
	s, _ := newService(b, memStore(b), clk, &Config{Providers: []ProviderConfig{{Name: "openai",
		Budget: &BudgetConfig{MaxUSD: 1e6, Reset: "1M"}, RateLimits: &RateLimits{RPM: 1 << 38, TPM: 1 << 39}}}})
	s.opt.Now = time.Now
	u := schema.Usage{PromptTokens: 1, CompletionTokens: 1}
	b.ReportAllocs()
	for b.Loop() {
		r, d := s.AdmitTarget(s.Target(nil, "smart", "openai"), Estimate{Tokens: 2, Cost: 3})
		if d != nil {
			b.Fatal(d.Message)
		}
		r.Settle(u, 3)
	}
}
