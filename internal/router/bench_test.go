package router

import (
	"testing"
	"time"
)

func BenchmarkPlanWeighted(b *testing.B) {
	c := newClock()
	models := []ModelConfig{
		{Name: "smart", Targets: []Target{
			{Provider: "azure-east", Model: "gpt-4o", Weight: 70},
			{Provider: "openai", Model: "gpt-4o", Weight: 30},
		}, Fallbacks: []string{"claude"}},
		{Name: "claude", Targets: []Target{{Provider: "anthropic", Model: "claude-sonnet-4-5"}}},
	}
	r, err := New(models, Options{Now: c.Now}) // production randomness: GlobalRand
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := r.Plan("smart", nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := p.Next(Outcome{}); !ok {
				b.Fatal("no attempt")
			}
		}
	})
}

func BenchmarkBreakerAllow(b *testing.B) {
	ts := newTargetState("openai", "gpt-4o", DefaultBreaker, time.Now)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := ts.Allow(); !ok {
				b.Fatal("closed breaker refused")
			}
		}
	})
}

func BenchmarkEnd(b *testing.B) {
	ts := newTargetState("openai", "gpt-4o", DefaultBreaker, time.Now)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ts.Begin()
			ts.End(time.Millisecond, true, 200, 0)
		}
	})
}
