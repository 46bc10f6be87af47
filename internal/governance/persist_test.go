package governance

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

func TestSpendSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	clk := newClock()
	cfg := &Config{
		Teams: []TeamConfig{{ID: "t", Budget: &BudgetConfig{MaxUSD: 0.0001, Reset: "1d"}}}, // 100,000 nano
		VirtualKeys: []VirtualKeyConfig{{ID: "k", Team: "t", RateLimits: &RateLimits{RPD: 5}},
			{ID: "gen", Team: "t"}},
	}

	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s, secrets := newService(t, st, clk, cfg)
	p := mustAuth(t, s, secrets["k"])
	for range 3 {
		r, d := s.Admit(ctx, p, "mock-model", Estimate{Cost: 10})
		if d != nil {
			t.Fatal(d)
		}
		r.Settle(schema.Usage{PromptTokens: 10, CompletionTokens: 10}, s.Prices().Cost("mock-model", schema.Usage{PromptTokens: 10, CompletionTokens: 10}))
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Restart: same file, same config (no value: the generated secrets must survive too).
	clk.Advance(time.Hour)
	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	s2, regenerated := newService(t, st2, clk, cfg)
	if len(regenerated) != 0 {
		t.Fatalf("restart regenerated secrets for %v", regenerated)
	}
	p2 := mustAuth(t, s2, secrets["k"])
	got := map[string]int64{}
	for _, ls := range s2.Peek(p2) {
		got[ls.Subject+" "+ls.Metric] = ls.Status.Used
	}
	// 3 × (10×1000 + 10×2000) nano = 90,000
	if got["team t spend/1d"] != 90_000 || got["virtual key k rpd"] != 3 {
		t.Fatalf("after restart: %v", got)
	}
	// The restored spend still enforces: 20,000 more would pass the 100,000 budget.
	if _, d := s2.Admit(ctx, mustAuth(t, s2, secrets["gen"]), "mock-model", Estimate{Cost: 20_000}); d == nil || d.Code != "budget_exceeded" {
		t.Fatalf("restored budget not enforced: %+v", d)
	}
	// Next day: the period is over, the restored daily spend no longer counts.
	clk.Advance(24 * time.Hour)
	if r, d := s2.Admit(ctx, p2, "mock-model", Estimate{Cost: 20_000}); d != nil {
		t.Fatalf("next day: %s", d.Message)
	} else {
		r.Release()
	}
}

func TestSeedKeepsAdminRowsAndRetiresConfigRows(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s, _ := newService(t, memStore(t), clk, hierarchyConfig())
	if _, err := s.CreateKey(ctx, keyRec("admin-key")); err != nil {
		t.Fatal(err)
	}
	cfg := hierarchyConfig()
	cfg.VirtualKeys = cfg.VirtualKeys[:1] // drop other, direct, loner
	if _, err := s.Seed(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range s.Keys() {
		ids = append(ids, k.ID)
	}
	if len(ids) != 2 || ids[0] != "admin-key" || ids[1] != "ci-bot" {
		t.Fatalf("keys after reseed: %v", ids)
	}
	bad := hierarchyConfig()
	bad.VirtualKeys[0].Team = "missing"
	bad.VirtualKeys[0].Value = "wk-short"
	if _, err := s.Seed(ctx, bad); err == nil {
		t.Fatal("invalid config seeded")
	} else {
		t.Log(err)
	}
}

func keyRec(id string) storeKey { return storeKey{ID: id} }

type storeKey = store.VirtualKey
