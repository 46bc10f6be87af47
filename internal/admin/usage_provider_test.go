package admin

import (
	"context"
	"testing"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/schema"
)

// TestAdminUsageProvider: GET /api/usage?provider= shows a provider level's spend and limits, and the full
// listing includes it.
func TestAdminUsageProvider(t *testing.T) {
	f := newAdminFixture(t, "tok", nil)
	if _, err := f.gov.Seed(context.Background(), &governance.Config{Providers: []governance.ProviderConfig{{Name: "openai",
		Budget: &governance.BudgetConfig{MaxUSD: 500, Reset: "1M"}, RateLimits: &governance.RateLimits{RPM: 1000}}}}); err != nil {
		t.Fatal(err)
	}
	r, d := f.gov.AdmitTarget(f.gov.Target(nil, "smart", "openai"), governance.Estimate{Tokens: 10, Cost: 1})
	if d != nil {
		t.Fatal(d.Message)
	}
	r.Settle(schema.Usage{PromptTokens: 5, CompletionTokens: 5}, 1_500_000) // $0.0015

	code, m, raw := f.do("GET", "/api/usage?provider=openai", "tok", "")
	if code != 200 || m["provider"] != "openai" {
		t.Fatalf("%d %s", code, raw)
	}
	got := map[string]map[string]any{}
	for _, u := range m["usage"].([]any) {
		u := u.(map[string]any)
		got[u["metric"].(string)] = u
	}
	if s := got["spend/1M"]; s == nil || s["spent_usd"] != 0.0015 || s["max_usd"] != 500.0 || s["subject"] != "provider:openai" {
		t.Fatalf("spend: %s", raw)
	}
	if r := got["rpm"]; r == nil || r["used"] != 1.0 || r["max"] != 1000.0 || r["limit"] != "rpm 1000" {
		t.Fatalf("rpm: %s", raw)
	}

	if code, _, raw := f.do("GET", "/api/usage?provider=anthropic", "tok", ""); code != 404 {
		t.Fatalf("unknown provider level: %d %s", code, raw)
	}
	if code, _, raw := f.do("GET", "/api/usage?provider=openai&key=x", "tok", ""); code != 400 {
		t.Fatalf("two subjects: %d %s", code, raw)
	}
	code, m, raw = f.do("GET", "/api/usage", "tok", "")
	if code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	found := false
	for _, e := range m["data"].([]any) {
		if e.(map[string]any)["subject"] == "provider:openai" {
			found = true
		}
	}
	if !found {
		t.Fatalf("listing lacks the provider: %s", raw)
	}
}
