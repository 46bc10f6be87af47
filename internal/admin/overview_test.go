package admin

import (
	"context"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
)

// GET /api/stats/overview: figures from the log's rollups, named keys labelled, top spenders, and the budgets
// near their limit from governance; bad parameters refused naming themselves.
func TestAdminOverview(t *testing.T) {
	ctx := context.Background()
	sink, err := requestlog.NewSQLSink(ctx, sqldbtest.Open(t, sqldb.SQLite), requestlog.SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := newAdminFixtureWith(t, Config{LogReader: sink, Overview: sink})
	f.do("POST", "/api/teams", "", `{"id":"platform","name":"Platform"}`)
	_, k, _ := f.do("POST", "/api/keys", "", `{"id":"k1","name":"CI bot","team":"platform","budget":{"max_usd":0.01,"reset":"1d"}}`)
	f.do("POST", "/api/keys", "", `{"id":"k2","budget":{"max_usd":1,"reset":"1d"}}`)
	p := f.gov.Authenticate(k["key"].(string))
	res, d := f.gov.Admit(ctx, p, "mock-model", governance.Estimate{Tokens: 10})
	if d != nil {
		t.Fatal(d)
	}
	res.Settle(schema.Usage{PromptTokens: 100, CompletionTokens: 50}, 9000*pricing.MicroUSD) // 90% of k1's budget

	now := time.Now()
	if err := sink.InsertLogs(ctx, []requestlog.Record{
		{Time: now, KeyID: "k1", TeamID: "platform", Provider: "mock", Model: "mock-model", Route: "POST /v1/chat/completions",
			Status: 200, InputTokens: 100, OutputTokens: 50, CostNanoUSD: 9_000_000, Duration: 120 * time.Millisecond, Overhead: 300 * time.Microsecond},
		{Time: now, KeyID: "k2", Provider: "mock", Model: "mock-model", Route: "POST /v1/chat/completions",
			Status: 200, InputTokens: 10, OutputTokens: 5, CostNanoUSD: 1_000, Duration: 80 * time.Millisecond},
		{Time: now, Provider: "openai", Model: "gpt-4o", Route: "POST /v1/messages", Status: 503, Error: "upstream unavailable",
			Duration: 30 * time.Millisecond},
	}); err != nil {
		t.Fatal(err)
	}
	code, m, raw := f.do("GET", "/api/stats/overview?range=1h", "", "")
	if code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	tot := m["totals"].(map[string]any)
	if tot["requests"] != 3.0 || tot["errors"] != 1.0 || tot["tokens"] != 165.0 || tot["cost_nano_usd"] != 9_001_000.0 ||
		m["step"] != "1m" || len(m["series"].([]any)) != 60 {
		t.Fatalf("totals: %s", raw)
	}
	lat := tot["latency_ms"].(map[string]any)
	if p50 := lat["p50"].(float64); p50 < 80/1.23 || p50 > 80*1.23 {
		t.Fatalf("latency p50 %v (%s)", p50, raw)
	}
	last := m["series"].([]any)[59].(map[string]any)
	if last["requests"] != 3.0 || m["series"].([]any)[0].(map[string]any)["latency_p50_ms"] != nil {
		t.Fatalf("series: %s", raw)
	}
	keys := m["by_key"].([]any)
	if len(keys) != 3 || m["by_provider"].([]any)[0].(map[string]any)["name"] != "mock" || len(m["by_route"].([]any)) != 2 {
		t.Fatalf("breakdowns: %s", raw)
	}
	top := m["top_spenders"].([]any)[0].(map[string]any)
	if top["subject"] != "key:k1" && top["subject"] != "team:platform" || top["cost_usd"] != 0.009 {
		t.Fatalf("top spender: %s", raw)
	}
	for _, e := range keys {
		if e := e.(map[string]any); e["name"] == "k1" && e["label"] != "CI bot" {
			t.Fatalf("key label: %v", e)
		}
	}
	budgets := m["budgets"].([]any)
	if len(budgets) != 1 {
		t.Fatalf("budgets: %s", raw)
	}
	b := budgets[0].(map[string]any)
	if b["subject"] != "key:k1" || b["fraction"] != 0.9 || b["limit_usd"] != 0.01 || b["period"] != "1d" || b["resets_at"] == nil {
		t.Fatalf("budget: %v", b)
	}

	// Filters: one key; requests without a key.
	_, m, raw = f.do("GET", "/api/stats/overview?range=24h&key=k2", "", "")
	if tot := m["totals"].(map[string]any); tot["requests"] != 1.0 || len(m["by_model"].([]any)) != 1 || len(m["by_route"].([]any)) != 0 {
		t.Fatalf("key filter: %s", raw)
	}
	_, m, raw = f.do("GET", "/api/stats/overview?range=30d&key=(none)&budget_threshold=0", "", "")
	if tot := m["totals"].(map[string]any); tot["requests"] != 1.0 || tot["errors"] != 1.0 || len(m["budgets"].([]any)) != 1 {
		t.Fatalf("no-key filter: %s", raw)
	}
	for _, q := range []struct{ query, param string }{{"range=2h", "range"}, {"top=0", "top"}, {"top=101", "top"},
		{"budget_threshold=1.5", "budget_threshold"}} {
		code, m, raw := f.do("GET", "/api/stats/overview?"+q.query, "", "")
		if code != 400 || m["error"].(map[string]any)["param"] != q.param {
			t.Errorf("%s: %d %s", q.query, code, raw)
		}
	}
}
