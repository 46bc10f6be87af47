package governance

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

const provKeySecret = "wk-provkey0123456789abcdefghijABCDEFGHIJ012"

// TestProviderLevelLimits: each kind of provider limit refuses the attempt that would cross it, with a denial
// naming the provider and the limit, and frees up when its window or period rolls (injected clock).
func TestProviderLevelLimits(t *testing.T) {
	tests := []struct {
		name     string
		prov     ProviderConfig
		est      Estimate
		charge   pricing.Money // settled cost per admitted attempt
		admitted int           // attempts admitted before the refusal
		code     string
		message  string
		retry    bool          // the denial carries a Retry-After
		advance  time.Duration // after which an attempt is admitted again (0: never)
	}{
		{name: "rpm", prov: ProviderConfig{Name: "openai", RateLimits: &RateLimits{RPM: 3}},
			est: Estimate{Tokens: 10, Cost: 1}, charge: 1, admitted: 3,
			code: "rate_limit_exceeded", message: "provider openai: rpm 3", retry: true, advance: 2 * time.Minute},
		{name: "rph", prov: ProviderConfig{Name: "openai", RateLimits: &RateLimits{RPH: 2}},
			est: Estimate{Tokens: 10}, admitted: 2,
			code: "rate_limit_exceeded", message: "provider openai: rph 2", retry: true, advance: 2 * time.Hour},
		{name: "tpm", prov: ProviderConfig{Name: "openai", RateLimits: &RateLimits{TPM: 100}},
			est: Estimate{Tokens: 40}, admitted: 2,
			code: "rate_limit_exceeded", message: "provider openai: tpm 100", retry: true, advance: 2 * time.Minute},
		{name: "tpm smaller than the request", prov: ProviderConfig{Name: "openai", RateLimits: &RateLimits{TPM: 100}},
			est: Estimate{Tokens: 101}, admitted: 0,
			code: "rate_limit_exceeded", message: "provider openai: tpm 100 (request needs 101)"},
		// $0.0001 = 100,000 nano: three charges of 40,000 cross it, the fourth attempt is refused.
		{name: "budget", prov: ProviderConfig{Name: "openai", Budget: &BudgetConfig{MaxUSD: 0.0001, Reset: "1d"}},
			est: Estimate{Tokens: 10, Cost: 1}, charge: 40_000, admitted: 3,
			code: "budget_exceeded", message: "provider openai: budget $0.0001/1d", retry: true, advance: 24 * time.Hour},
		{name: "budget never resets", prov: ProviderConfig{Name: "openai", Budget: &BudgetConfig{MaxUSD: 0.0001}},
			est: Estimate{Tokens: 10, Cost: 1}, charge: 60_000, admitted: 2,
			code: "budget_exceeded", message: "provider openai: budget $0.0001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s, _ := newService(t, memStore(t), clk, &Config{Providers: []ProviderConfig{tc.prov}})
			tg := s.Target(nil, "smart", "openai")
			if tg.Empty() {
				t.Fatal("no target limits for a configured provider")
			}
			if !s.Target(nil, "smart", "anthropic").Empty() {
				t.Fatal("an unconfigured provider has target limits")
			}
			u := schema.Usage{PromptTokens: tc.est.Tokens / 2, CompletionTokens: tc.est.Tokens - tc.est.Tokens/2}
			for i := range tc.admitted {
				r, d := s.AdmitTarget(tg, tc.est)
				if d != nil {
					t.Fatalf("attempt %d refused: %s", i, d.Message)
				}
				r.Settle(u, tc.charge)
			}
			_, d := s.AdmitTarget(tg, tc.est)
			if d == nil {
				t.Fatalf("attempt %d admitted", tc.admitted+1)
			}
			if d.Status != http.StatusTooManyRequests || d.Code != tc.code || d.Message != tc.message {
				t.Fatalf("denial = %d %s %q, want 429 %s %q", d.Status, d.Code, d.Message, tc.code, tc.message)
			}
			if (d.RetryAfter > 0) != tc.retry {
				t.Fatalf("RetryAfter = %v, want set: %v", d.RetryAfter, tc.retry)
			}
			if tc.advance == 0 {
				clk.Advance(400 * 24 * time.Hour)
				if _, d := s.AdmitTarget(tg, tc.est); d == nil {
					t.Fatal("admitted after the limit that never frees")
				}
				return
			}
			clk.Advance(tc.advance)
			r, d := s.AdmitTarget(tg, tc.est)
			if d != nil {
				t.Fatalf("after %v: still refused: %s", tc.advance, d.Message)
			}
			r.Release()
		})
	}
}

// TestProviderTargetWhichLimits: which limits an attempt must pass depends on the target's provider, whether
// the request carries a key, and whether admission already took the key's provider_limits.
func TestProviderTargetWhichLimits(t *testing.T) {
	cfg := &Config{
		Providers: []ProviderConfig{{Name: "openai", RateLimits: &RateLimits{RPM: 100}}},
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: provKeySecret,
			ProviderLimits: map[string]RateLimits{"openai": {RPM: 1}, "anthropic": {RPM: 1}}}},
	}
	s, _ := newService(t, memStore(t), newClock(), cfg)
	p := mustAuth(t, s, provKeySecret)
	tests := []struct {
		name                string
		p                   *Principal
		requested, provider string
		key, prov           bool
	}{
		{"no key, limited provider", nil, "smart", "openai", false, true},
		{"no key, free provider", nil, "smart", "anthropic", false, false},
		{"key through an alias", p, "smart", "openai", true, true},
		{"key through an alias, provider without level", p, "smart", "anthropic", true, false},
		{"key naming the provider: admission took the key's limits", p, "openai/gpt-4o", "openai", false, true},
		{"key naming another provider (fallback)", p, "anthropic/claude", "openai", true, true},
		{"key, bare model", p, "gpt-4o", "openai", true, true},
		{"key, provider name is only a prefix", p, "openaix/gpt-4o", "openai", true, true},
		{"key without limits for the provider", p, "smart", "mistral", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := s.Target(tc.p, tc.requested, tc.provider)
			if (tg.key != nil) != tc.key || (tg.prov != nil) != tc.prov {
				t.Fatalf("Target(%q, %q): key %v prov %v, want %v %v", tc.requested, tc.provider, tg.key != nil, tg.prov != nil, tc.key, tc.prov)
			}
			if tg.Empty() != (!tc.key && !tc.prov) {
				t.Fatal("Empty disagrees")
			}
		})
	}
}

// TestProviderTargetKeyLimitNoDoubleCount: a key's provider_limits are taken once per request, at admission
// for "provider/model" and per attempt otherwise; a refusal reserves nothing anywhere.
func TestProviderTargetKeyLimitNoDoubleCount(t *testing.T) {
	cfg := &Config{
		Providers: []ProviderConfig{{Name: "openai", RateLimits: &RateLimits{RPM: 2}}},
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Value: provKeySecret,
			ProviderLimits: map[string]RateLimits{"openai": {RPM: 1}}}},
	}
	s, _ := newService(t, memStore(t), newClock(), cfg)
	p := mustAuth(t, s, provKeySecret)
	ctx := context.Background()

	// Named provider: admission takes the key's openai rpm, the attempt only the provider's.
	r, d := s.Admit(ctx, p, "openai/gpt-4o", Estimate{Tokens: 1})
	if d != nil {
		t.Fatal(d.Message)
	}
	tr, d := s.AdmitTarget(s.Target(p, "openai/gpt-4o", "openai"), Estimate{Tokens: 1})
	if d != nil {
		t.Fatalf("attempt after admission counted the key's provider limit twice: %s", d.Message)
	}
	tr.Settle(schema.Usage{TotalTokens: 1}, 1)
	r.Settle(schema.Usage{TotalTokens: 1}, 1)

	// Through an alias: the attempt takes the key's openai rpm, now exhausted; the provider level is untouched.
	_, d = s.AdmitTarget(s.Target(p, "smart", "openai"), Estimate{Tokens: 1})
	if d == nil || d.Message != "virtual key k: openai rpm 1" || d.Code != "rate_limit_exceeded" {
		t.Fatalf("key provider limit through an alias: %+v", d)
	}
	h := http.Header{}
	d.SetHeaders(h)
	if h.Get("x-ratelimit-limit-requests") != "1" || h.Get("Retry-After") == "" {
		t.Fatalf("denial headers: %v", h)
	}
	// Without the key, one provider request is left (2 − 1): the refusal above rolled everything back.
	tr, d = s.AdmitTarget(s.Target(nil, "smart", "openai"), Estimate{Tokens: 1})
	if d != nil {
		t.Fatalf("provider level charged by a refused attempt: %s", d.Message)
	}
	tr.Release()
	tr, d = s.AdmitTarget(s.Target(nil, "smart", "openai"), Estimate{Tokens: 1})
	if d != nil {
		t.Fatalf("Release did not give the request back: %s", d.Message)
	}
	tr.Settle(schema.Usage{}, 0)
	if _, d = s.AdmitTarget(s.Target(nil, "smart", "openai"), Estimate{Tokens: 1}); d == nil || d.Message != "provider openai: rpm 2" {
		t.Fatalf("third provider request: %+v", d)
	}
	if got := s.PeekProvider("openai"); len(got) != 1 || got[0].Status.Used != 2 || got[0].Subject != "provider openai" {
		t.Fatalf("PeekProvider = %+v", got)
	}
}

// TestProviderLevelSharedLikeOtherLevels: provider counters are registry counters (subject "provider:<name>"),
// so the cluster layer gossips them and a remote count refuses locally; they survive snapshot rebuilds (admin
// edits), a reseed without the level drops them, and their spend survives a restart.
func TestProviderLevelSharedLikeOtherLevels(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	clk := newClock()
	cfg := &Config{Providers: []ProviderConfig{{Name: "openai", Budget: &BudgetConfig{MaxUSD: 0.0001, Reset: "1M"},
		RateLimits: &RateLimits{RPM: 10}}}}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newService(t, st, clk, cfg)
	tg := s.Target(nil, "smart", "openai")
	r, d := s.AdmitTarget(tg, Estimate{Tokens: 1, Cost: 1})
	if d != nil {
		t.Fatal(d.Message)
	}
	r.Settle(schema.Usage{TotalTokens: 1}, 30_000)

	refs := map[string]CounterRef{}
	for _, ref := range s.Counters() {
		refs[ref.Subject+" "+ref.Metric] = ref
	}
	spend, ok := refs["provider:openai spend/1M"]
	if !ok || spend.Limit != 100_000 {
		t.Fatalf("provider spend counter not in the registry: %v", refs)
	}
	if _, ok := refs["provider:openai rpm"]; !ok {
		t.Fatalf("provider rpm counter not in the registry: %v", refs)
	}
	// Another node spent $0.00006 this month: 30,000 + 60,000 + an estimate of 20,000 no longer fits.
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	spend.Counter.SetRemote(clk.Now().UnixNano(), Slot{Start: start, Count: 60_000})
	if _, d := s.AdmitTarget(tg, Estimate{Cost: 20_000}); d == nil || d.Code != "budget_exceeded" {
		t.Fatalf("remote spend ignored: %+v", d)
	}
	spend.Counter.SetRemote(clk.Now().UnixNano(), Slot{Start: start, Count: 0})

	// An admin edit rebuilds the snapshot: the count is kept.
	if err := s.PutCustomer(ctx, store.Customer{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if got := s.PeekProvider("openai"); len(got) != 2 {
		t.Fatalf("after rebuild: %+v", got)
	} else {
		for _, ls := range got {
			if strings.HasPrefix(ls.Metric, "spend/") && ls.Status.Used != 30_000 {
				t.Fatalf("spend after rebuild = %d", ls.Status.Used)
			}
		}
	}
	if pl := s.ProviderLimits(); len(pl) != 1 || pl[0].Name != "openai" || pl[0].Limits.RPM != 10 || pl[0].Budget.MaxUSD != 100_000 {
		t.Fatalf("ProviderLimits = %+v", pl)
	}

	// Restart on the same store: the month's spend is still there.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	clk.Advance(time.Hour)
	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2, _ := newService(t, st2, clk, cfg)
	found := false
	for _, ls := range s2.PeekProvider("openai") {
		if ls.Metric == "spend/1M" {
			found = true
			if ls.Status.Used != 30_000 {
				t.Fatalf("spend after restart = %d, want 30000", ls.Status.Used)
			}
		}
	}
	if !found {
		t.Fatal("no provider spend after restart")
	}

	// Reseeding without the level removes it: nothing is checked, nothing is listed.
	if _, err := s2.Seed(ctx, &Config{}); err != nil {
		t.Fatal(err)
	}
	if !s2.Target(nil, "smart", "openai").Empty() || s2.PeekProvider("openai") != nil || len(s2.ProviderLimits()) != 0 {
		t.Fatal("provider level survived its removal from the config")
	}
}

func TestProviderConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		ps   []ProviderConfig
		want []string // substrings of the error; none: valid
	}{
		{"valid", []ProviderConfig{{Name: "openai", Budget: &BudgetConfig{MaxUSD: 500, Reset: "1M"}, RateLimits: &RateLimits{RPM: 1000, TPM: 2_000_000}}}, nil},
		{"missing name", []ProviderConfig{{RateLimits: &RateLimits{RPM: 1}}}, []string{"governance.providers[0].name: required"}},
		{"duplicate", []ProviderConfig{{Name: "a", RateLimits: &RateLimits{RPM: 1}}, {Name: "a", RateLimits: &RateLimits{RPM: 1}}},
			[]string{`governance.providers[1].name: duplicate "a"`}},
		{"slash", []ProviderConfig{{Name: "a/b", RateLimits: &RateLimits{RPM: 1}}}, []string{"governance.providers[0].name"}},
		{"nothing to enforce", []ProviderConfig{{Name: "a"}}, []string{"governance.providers[0]: set a budget, rate_limits or both"}},
		{"bad values", []ProviderConfig{{Name: "a", Budget: &BudgetConfig{MaxUSD: -1, Reset: "2d"}, RateLimits: &RateLimits{TPD: -5}}},
			[]string{"governance.providers[0].budget.max_usd: must be >= 0", "governance.providers[0].budget.reset", "governance.providers[0].rate_limits.tpd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Config{Providers: tc.ps}).Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("valid")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}
