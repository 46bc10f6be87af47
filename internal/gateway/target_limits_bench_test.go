package gateway

import (
	"context"
	"net/http"
	"testing"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

const benchKey = "wk-bench0123456789abcdefghijABCDEFGHIJ01234"

// benchGoverned serves body through an alias with governance on, with or without a principal, and with the
// given governance section (nil: a key with one rate limit and no provider levels).
func benchGoverned(b *testing.B, body string, withKey bool, gc *governance.Config) {
	p := &cannedProvider{ProviderName: "up", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
	e := newTestEngine(b, p, "models:\n  - {name: smart, targets: [{provider: up, model: gpt-4o-mini}]}\n")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	gov, err := governance.New(ctx, st, governance.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if gc == nil {
		gc = &governance.Config{}
	}
	gc.VirtualKeys = append(gc.VirtualKeys, governance.VirtualKeyConfig{ID: "bench", Value: benchKey,
		RateLimits: &governance.RateLimits{RPM: 1 << 38}})
	if _, err := gov.Seed(ctx, gc); err != nil {
		b.Fatal(err)
	}
	e.SetGovernance(gov)
	req := Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}}
	if withKey {
		req.Principal = gov.Authenticate(benchKey)
	}
	sink := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		x := e.AcquireExchange()
		clear(sink.h)
		if _, err := e.Serve(ctx, x, &req, sink); err != nil {
			b.Fatal(err)
		}
		e.ReleaseExchange(x)
	}
}

const benchAliasBody = `{"model":"smart","messages":[{"role":"user","content":"Say hello in one short sentence, please."}],"temperature":0.2}`

// BenchmarkServeGovernedAlias: a keyed request through an alias, no provider level configured (the per-target
// check must cost nothing here).
func BenchmarkServeGovernedAlias(b *testing.B) { benchGoverned(b, benchAliasBody, true, nil) }

// BenchmarkServeUngovernedAlias: governance on, but the request carries no key.
func BenchmarkServeUngovernedAlias(b *testing.B) { benchGoverned(b, benchAliasBody, false, nil) }

// BenchmarkServeGovernedAliasProviderLevel: the same keyed request with a budget and two rate limits on the
// target's provider (the per-attempt reservation and its settlement).
func BenchmarkServeGovernedAliasProviderLevel(b *testing.B) {
	benchGoverned(b, benchAliasBody, true, &governance.Config{Providers: []governance.ProviderConfig{{Name: "up",
		Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1M"}, RateLimits: &governance.RateLimits{RPM: 1 << 38, TPM: 1 << 39}}}})
}
