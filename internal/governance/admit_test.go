package governance

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/store"
)

const ciSecret = "wk-CIbot0123456789abcdefghijABCDEFGHIJ0123456"

func hierarchyConfig() *Config {
	return &Config{
		Customers: []CustomerConfig{{ID: "acme", Budget: &BudgetConfig{MaxUSD: 100, Reset: "1M"}}},
		Teams:     []TeamConfig{{ID: "platform", Customer: "acme", Budget: &BudgetConfig{MaxUSD: 20, Reset: "1d"}}},
		VirtualKeys: []VirtualKeyConfig{
			{ID: "ci-bot", Value: ciSecret, Team: "platform", Models: []string{"openai/gpt-4o-mini", "smart"},
				RateLimits: &RateLimits{RPM: 10, TPM: 20000}, Budget: &BudgetConfig{MaxUSD: 0.01, Reset: "1d"}},
			{ID: "other", Team: "platform"},
			{ID: "direct", Customer: "acme"},
			{ID: "loner"},
		},
	}
}

func TestAdmitDenialNamesTheLimit(t *testing.T) {
	clk := newClock()
	s, _ := newService(t, memStore(t), clk, hierarchyConfig())
	p := mustAuth(t, s, ciSecret)
	ctx := context.Background()
	for i := range 10 {
		r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", Estimate{Tokens: 10, Cost: 1})
		if d != nil {
			t.Fatalf("request %d denied: %s", i, d.Message)
		}
		r.Settle(schema.Usage{PromptTokens: 5, CompletionTokens: 5}, 1)
	}
	_, d := s.Admit(ctx, p, "openai/gpt-4o-mini", Estimate{Tokens: 10, Cost: 1})
	if d == nil {
		t.Fatal("11th request admitted with rpm 10")
	}
	if d.Message != "virtual key ci-bot: rpm 10" || d.Status != http.StatusTooManyRequests || d.Code != "rate_limit_exceeded" {
		t.Fatalf("denial = %+v", d)
	}
	h := http.Header{}
	d.SetHeaders(h)
	if h.Get("Retry-After") == "" || h.Get("x-ratelimit-limit-requests") != "10" || h.Get("x-ratelimit-remaining-requests") != "0" ||
		h.Get("x-ratelimit-limit-tokens") != "20000" {
		t.Fatalf("headers = %v", h)
	}

	if _, d := s.Admit(ctx, p, "anthropic/claude-3-5-haiku-20241022", Estimate{}); d == nil || d.Code != "model_not_allowed" || d.Status != 403 {
		t.Fatalf("disallowed model: %+v", d)
	}
	if _, d := s.Admit(ctx, p, "gpt-4o-mini", Estimate{}); d == nil || d.Code != "rate_limit_exceeded" {
		t.Fatalf("bare name of an allowed provider/model should pass the allow-list: %+v", d)
	}
	// A token estimate above the limit outright is refused with no useful Retry-After.
	clk.Advance(2 * time.Minute)
	_, d = s.Admit(ctx, p, "smart", Estimate{Tokens: 30000})
	if d == nil || !strings.HasPrefix(d.Message, "virtual key ci-bot: tpm 20000") || d.RetryAfter != 0 {
		t.Fatalf("oversized request: %+v", d)
	}
}

func TestHierarchyTeamBudgetStopsEveryKey(t *testing.T) {
	clk := newClock()
	cfg := hierarchyConfig()
	cfg.Teams[0].Budget = &BudgetConfig{MaxUSD: 0.001, Reset: "1d"} // $0.001 = 1,000,000 nano
	cfg.VirtualKeys[0].Budget = nil
	cfg.VirtualKeys[0].RateLimits = nil
	s, secrets := newService(t, memStore(t), clk, cfg)
	ctx := context.Background()
	ci, other, direct, loner := mustAuth(t, s, ciSecret), mustAuth(t, s, secrets["other"]), mustAuth(t, s, secrets["direct"]), mustAuth(t, s, secrets["loner"])

	r, d := s.Admit(ctx, ci, "smart", Estimate{Cost: 100})
	if d != nil {
		t.Fatal(d)
	}
	r.Settle(schema.Usage{}, pricing.Money(1_000_000)) // spends the whole team budget
	for name, p := range map[string]*Principal{"ci-bot": ci, "other": other} {
		_, d := s.Admit(ctx, p, "openai/gpt-4o-mini", Estimate{Cost: 0})
		if d == nil || d.Message != "team platform: budget $0.001/1d" || d.Code != "budget_exceeded" {
			t.Fatalf("%s: want team budget denial, got %+v", name, d)
		}
		if d.RetryAfter != 14*time.Hour {
			t.Fatalf("%s: budget Retry-After %v, want until midnight UTC", name, d.RetryAfter)
		}
	}
	// Keys outside the team are unaffected.
	for name, p := range map[string]*Principal{"direct": direct, "loner": loner} {
		r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", Estimate{Cost: 10})
		if d != nil {
			t.Fatalf("%s denied: %s", name, d.Message)
		}
		r.Release()
	}
	// Next day the team budget is fresh.
	clk.Advance(14 * time.Hour)
	r, d = s.Admit(ctx, other, "x", Estimate{Cost: 10})
	if d != nil {
		t.Fatalf("after reset: %s", d.Message)
	}
	r.Release()
}

func TestCustomerBudgetStopsKeysThroughTeams(t *testing.T) {
	clk := newClock()
	cfg := hierarchyConfig()
	cfg.Customers[0].Budget = &BudgetConfig{MaxUSD: 0.000002} // 2000 nano, never resets
	s, secrets := newService(t, memStore(t), clk, cfg)
	ctx := context.Background()
	r, d := s.Admit(ctx, mustAuth(t, s, secrets["direct"]), "m", Estimate{Cost: 2000})
	if d != nil {
		t.Fatal(d)
	}
	_, d = s.Admit(ctx, mustAuth(t, s, secrets["other"]), "m", Estimate{Cost: 1})
	if d == nil || d.Message != "customer acme: budget $0.000002" {
		t.Fatalf("want customer denial through the team, got %+v", d)
	}
	r.Settle(schema.Usage{}, 500) // actual cost lower: room again
	r2, d := s.Admit(ctx, mustAuth(t, s, secrets["other"]), "m", Estimate{Cost: 1500})
	if d != nil {
		t.Fatalf("after settle: %s", d.Message)
	}
	r2.Release()
}

func TestReserveSettleReleaseArithmetic(t *testing.T) {
	clk := newClock()
	cfg := &Config{
		Teams: []TeamConfig{{ID: "t", RateLimits: &RateLimits{TPM: 1000, RPM: 100}, Budget: &BudgetConfig{MaxUSD: 1}}},
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: ciSecret, Team: "t",
			RateLimits: &RateLimits{TPM: 500, RPD: 1000}, Budget: &BudgetConfig{MaxUSD: 0.5, Reset: "1w"},
			ProviderLimits: map[string]RateLimits{"openai": {RPM: 3}}}},
	}
	s, _ := newService(t, memStore(t), clk, cfg)
	p := mustAuth(t, s, ciSecret)
	ctx := context.Background()
	used := func() map[string]int64 {
		m := map[string]int64{}
		for _, ls := range s.Peek(p) {
			m[ls.Subject+" "+ls.Metric] = ls.Status.Used
		}
		return m
	}
	want := func(step string, exp map[string]int64) {
		t.Helper()
		got := used()
		for k, v := range exp {
			if got[k] != v {
				t.Errorf("%s: %s = %d, want %d (all: %v)", step, k, got[k], v, got)
			}
		}
	}
	r1, d := s.Admit(ctx, p, "openai/gpt-4o", Estimate{Tokens: 300, Cost: 1000})
	if d != nil {
		t.Fatal(d)
	}
	want("reserve", map[string]int64{
		"virtual key k tpm": 300, "virtual key k rpd": 1, "virtual key k spend/1w": 1000, "virtual key k rpm@openai": 1,
		"team t tpm": 300, "team t rpm": 1, "team t spend/never": 1000,
	})
	if r1.Tokens.Limit != 500 || r1.Tokens.Remaining != 200 || r1.Requests.Limit != 3 || r1.Requests.Remaining != 2 {
		t.Errorf("headers: requests %+v tokens %+v", r1.Requests, r1.Tokens)
	}
	r2, d := s.Admit(ctx, p, "openai/gpt-4o", Estimate{Tokens: 150, Cost: 500})
	if d != nil {
		t.Fatal(d)
	}
	// 300+150 reserved; 100 more would pass the key's tpm 500.
	if _, d := s.Admit(ctx, p, "other/model", Estimate{Tokens: 100}); d == nil || d.Message != "virtual key k: tpm 500" {
		t.Fatalf("want key tpm denial, got %+v", d)
	}
	want("after denial rolled back", map[string]int64{"team t rpm": 2, "virtual key k rpd": 2})
	r1.Settle(schema.Usage{PromptTokens: 100, CompletionTokens: 20, TotalTokens: 120}, 700)
	want("settle", map[string]int64{"virtual key k tpm": 270, "team t tpm": 270, "virtual key k spend/1w": 1200, "team t spend/never": 1200, "virtual key k rpd": 2})
	r2.Release()
	want("release", map[string]int64{"virtual key k tpm": 120, "virtual key k spend/1w": 700, "virtual key k rpd": 1, "team t rpm": 1, "virtual key k rpm@openai": 1})
	// per-provider limit: rpm 3 for openai only
	for range 2 {
		r, d := s.Admit(ctx, p, "openai/gpt-4o", Estimate{Tokens: 1})
		if d != nil {
			t.Fatal(d)
		}
		r.Settle(schema.Usage{TotalTokens: 1}, 0)
	}
	if _, d := s.Admit(ctx, p, "openai/gpt-4o", Estimate{Tokens: 1}); d == nil || d.Message != "virtual key k: openai rpm 3" {
		t.Fatalf("want provider limit denial, got %+v", d)
	}
	if r, d := s.Admit(ctx, p, "anthropic/claude", Estimate{Tokens: 1}); d != nil {
		t.Fatalf("other provider denied: %s", d.Message)
	} else {
		r.Release()
	}
}

// 200 goroutines hammer a key with rpm 50: exactly 50 are admitted (check-and-reserve, no race window).
func TestConcurrentRPMAdmitsExactly(t *testing.T) {
	clk := newClock()
	cfg := &Config{
		Customers:   []CustomerConfig{{ID: "c"}},
		Teams:       []TeamConfig{{ID: "t", Customer: "c"}},
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: ciSecret, Team: "t", RateLimits: &RateLimits{RPM: 50}}},
	}
	s, _ := newService(t, memStore(t), clk, cfg)
	p := mustAuth(t, s, ciSecret)
	var admitted, denied atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			r, d := s.Admit(context.Background(), p, "m", Estimate{Tokens: 10})
			if d != nil {
				denied.Add(1)
				return
			}
			admitted.Add(1)
			r.Settle(schema.Usage{TotalTokens: 10}, 0)
		})
	}
	close(start)
	wg.Wait()
	if admitted.Load() != 50 || denied.Load() != 150 {
		t.Fatalf("admitted %d, denied %d; want 50/150", admitted.Load(), denied.Load())
	}
}

// 200 concurrent reservations against a budget that fits 50: exactly 50 hold reservations.
func TestConcurrentBudgetReservations(t *testing.T) {
	clk := newClock()
	cfg := &Config{
		Teams:       []TeamConfig{{ID: "t", Budget: &BudgetConfig{MaxUSD: 0.00005, Reset: "1h"}}}, // 50,000 nano
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: ciSecret, Team: "t"}},
	}
	s, _ := newService(t, memStore(t), clk, cfg)
	p := mustAuth(t, s, ciSecret)
	var mu sync.Mutex
	var held []*Reservation
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			r, d := s.Admit(context.Background(), p, "mock-model", Estimate{Cost: 1000})
			if d != nil {
				if d.Code != "budget_exceeded" {
					t.Errorf("unexpected denial %s", d.Message)
				}
				return
			}
			mu.Lock()
			held = append(held, r)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if len(held) != 50 {
		t.Fatalf("%d reservations held against a budget for 50", len(held))
	}
	for _, r := range held {
		r.Settle(schema.Usage{}, 1000)
	}
	if st := s.Peek(p); st[0].Status.Used != 50_000 {
		t.Fatalf("spent %d, want 50000", st[0].Status.Used)
	}
}

func TestMaxConcurrent(t *testing.T) {
	clk := newClock()
	cfg := &Config{VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: ciSecret, MaxConcurrent: 2}}}
	st := memStore(t)
	s, err := New(context.Background(), st, Options{Now: clk.Now, ConcurrencyWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	p := mustAuth(t, s, ciSecret)
	ctx := context.Background()
	r1, d1 := s.Admit(ctx, p, "m", Estimate{})
	r2, d2 := s.Admit(ctx, p, "m", Estimate{})
	if d1 != nil || d2 != nil {
		t.Fatal(d1, d2)
	}
	_, d := s.Admit(ctx, p, "m", Estimate{})
	if d == nil || d.Message != "virtual key k: max_concurrent 2" {
		t.Fatalf("third concurrent: %+v", d)
	}
	// A slot freed while a request waits is taken by it.
	got := make(chan *Denial)
	s.opt.ConcurrencyWait = time.Minute
	go func() {
		r, d := s.Admit(ctx, p, "m", Estimate{})
		if r != nil {
			r.Release()
		}
		got <- d
	}()
	r1.Release()
	if d := <-got; d != nil {
		t.Fatalf("waiter denied: %s", d.Message)
	}
	r2.Settle(schema.Usage{}, 0)
}

func TestAuthenticate(t *testing.T) {
	clk := newClock()
	s, secrets := newService(t, memStore(t), clk, hierarchyConfig())
	ctx := context.Background()
	if s.Authenticate("wk-nope") != nil || s.Authenticate("") != nil || s.Authenticate("sk-"+ciSecret[3:]) != nil {
		t.Fatal("bogus secret authenticated")
	}
	p := mustAuth(t, s, secrets["other"])
	if p.ID() != "other" || p.TeamID() != "platform" || p.CustomerID() != "acme" {
		t.Fatalf("principal %s team %s customer %s", p.ID(), p.TeamID(), p.CustomerID())
	}
	// Admin: create, rotate, disable, delete.
	sec, err := s.CreateKey(ctx, store.VirtualKey{ID: "adm", TeamID: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	mustAuth(t, s, sec)
	sec2, err := s.RotateKey(ctx, "adm")
	if err != nil {
		t.Fatal(err)
	}
	if s.Authenticate(sec) != nil {
		t.Fatal("old secret still valid after rotation")
	}
	k := mustAuth(t, s, sec2).rec
	upd := *k
	upd.Disabled = true
	if err := s.UpdateKey(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if s.Authenticate(sec2) != nil {
		t.Fatal("disabled key authenticated")
	}
	if err := s.DeleteTeam(ctx, "platform"); err == nil {
		t.Fatal("deleted a team with keys")
	}
	if err := s.DeleteKey(ctx, "adm"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateKey(ctx, store.VirtualKey{ID: "bad", TeamID: "nope"}); err == nil {
		t.Fatal("key with unknown team accepted")
	}
}

func TestGenerateAndHashKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 46 || ValidateKeyFormat(k) != nil || seen[k] {
			t.Fatalf("bad key %q", k)
		}
		seen[k] = true
	}
	// Known-answer: SHA-256("abc").
	h := HashKey("abc")
	if got := strings.ToLower(hexString(h[:])); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashKey = %s", got)
	}
	long := strings.Repeat("x", 300)
	if HashKey(long) == HashKey(long[:299]) || !HashKey(long).Equal(HashKey(long)) {
		t.Fatal("long secret hashing")
	}
	if ValidateKeyFormat("wk-short") == nil || ValidateKeyFormat("wk-"+strings.Repeat("!", 40)) == nil {
		t.Fatal("malformed key accepted")
	}
}

func hexString(b []byte) string {
	const x = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, x[c>>4], x[c&15])
	}
	return string(out)
}
