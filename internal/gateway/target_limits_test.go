package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

const targetKey = "wk-target0123456789abcdefghijABCDEFGHIJ0123"

// newTargetEngine builds an engine with canned providers "a" and "b" behind the alias "smart" (a first: b has
// weight 0, a standby), no retries, and governance seeded with gc plus a key "k" (targetKey) with keyLimits.
func newTargetEngine(t *testing.T, a, b *cannedProvider, gc governance.Config, keyLimits map[string]governance.RateLimits) (*Engine, *governance.Service) {
	t.Helper()
	registerCanned.Do(func() {
		provider.Register("canned", func(cfg provider.Common, _ struct{}) (provider.Provider, error) {
			return cannedProviders[cfg.Name], nil
		})
	})
	cannedProviders["a"], cannedProviders["b"] = a, b
	cfg, err := config.Parse([]byte(`
providers:
  - {name: a, type: canned, keys: [{value: k}]}
  - {name: b, type: canned, keys: [{value: k}]}
models:
  - name: smart
    targets: [{provider: a, model: gpt-4o-mini, weight: 1}, {provider: b, model: gpt-4o-mini, weight: 0}]
    retries: {max: 0}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gov, err := governance.New(ctx, st, governance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gc.VirtualKeys = append(gc.VirtualKeys, governance.VirtualKeyConfig{ID: "k", Value: targetKey, ProviderLimits: keyLimits})
	if _, err := gov.Seed(ctx, &gc); err != nil {
		t.Fatal(err)
	}
	e.SetGovernance(gov)
	return e, gov
}

type served struct {
	provider string
	status   int
	err      *Error
	header   http.Header
}

func serveChat(t *testing.T, e *Engine, p *governance.Principal, body string) served {
	t.Helper()
	x := e.AcquireExchange()
	defer e.ReleaseExchange(x)
	sink := &bufferSink{h: http.Header{}}
	req := Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}, Principal: p}
	out, err := e.Serve(context.Background(), x, &req, sink)
	if err != nil {
		ge, ok := err.(*Error)
		if !ok {
			t.Fatalf("not a gateway error: %v", err)
		}
		return served{status: ge.Status, err: ge, header: sink.h}
	}
	return served{provider: out.Provider, status: sink.status, header: sink.h}
}

// TestTargetOverItsLimitIsSkipped: an alias with two targets whose first target's provider (or the key's limit
// for it) is over a rate limit or budget is served by the second with 200; when both are over, the caller gets
// a 429 naming the providers and the limits, with Retry-After and x-ratelimit-* headers.
func TestTargetOverItsLimitIsSkipped(t *testing.T) {
	const small = `{"model":"smart","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
	rpm1 := &governance.RateLimits{RPM: 1}
	tests := []struct {
		name      string
		gov       governance.Config
		keyLimits map[string]governance.RateLimits
		withKey   bool
		aStatus   int      // a's answer (0: 200)
		want      []string // provider that serves each request, "429" for a refusal
		message   string   // the refusal's message
		code      string
		aHits     int // requests that reached a
	}{
		{name: "provider rpm, no key",
			gov:  governance.Config{Providers: []governance.ProviderConfig{{Name: "a", RateLimits: rpm1}}},
			want: []string{"a", "b", "b"}, aHits: 1},
		{name: "provider rpm, keyed",
			gov:     governance.Config{Providers: []governance.ProviderConfig{{Name: "a", RateLimits: rpm1}}},
			withKey: true, want: []string{"a", "b", "b"}, aHits: 1},
		// gpt-4o-mini: 12 prompt + 16 completion tokens cost 11,400 nano, over a $0.00001 budget after one answer;
		// max_tokens 1 keeps the first estimate inside it.
		{name: "provider budget",
			gov:  governance.Config{Providers: []governance.ProviderConfig{{Name: "a", Budget: &governance.BudgetConfig{MaxUSD: 0.00001, Reset: "1d"}}}},
			want: []string{"a", "b"}, aHits: 1},
		{name: "key's provider_limits through an alias",
			keyLimits: map[string]governance.RateLimits{"a": {RPM: 1}}, withKey: true,
			want: []string{"a", "b", "b"}, aHits: 1},
		{name: "both providers over rpm",
			gov:  governance.Config{Providers: []governance.ProviderConfig{{Name: "a", RateLimits: rpm1}, {Name: "b", RateLimits: rpm1}}},
			want: []string{"a", "b", "429"}, aHits: 1,
			code: "rate_limit_exceeded", message: "provider a: rpm 1; provider b: rpm 1"},
		{name: "both over: provider budget and key limit",
			gov:       governance.Config{Providers: []governance.ProviderConfig{{Name: "a", Budget: &governance.BudgetConfig{MaxUSD: 0.00001, Reset: "1d"}}}},
			keyLimits: map[string]governance.RateLimits{"b": {RPM: 1}}, withKey: true,
			want: []string{"a", "b", "429"}, aHits: 1,
			code: "rate_limit_exceeded", message: "provider a: budget $0.00001/1d; virtual key k: b rpm 1"},
		// A failed attempt gives its reservation back: a's one request a minute is still there afterwards.
		{name: "failed attempt releases",
			gov:     governance.Config{Providers: []governance.ProviderConfig{{Name: "a", RateLimits: rpm1}}},
			aStatus: http.StatusInternalServerError, want: []string{"b", "b"}, aHits: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &cannedProvider{ProviderName: "a", Body: cannedChat, Stream: cannedStream, Header: jsonHeader, Record: true, Status: tc.aStatus}
			if tc.aStatus >= 400 {
				a.Body = `{"error":{"message":"boom","type":"server_error"}}`
			}
			b := &cannedProvider{ProviderName: "b", Body: cannedChat, Stream: cannedStream, Header: jsonHeader, Record: true}
			e, gov := newTargetEngine(t, a, b, tc.gov, tc.keyLimits)
			var p *governance.Principal
			if tc.withKey {
				p = gov.Authenticate(targetKey)
			}
			for i, want := range tc.want {
				got := serveChat(t, e, p, small)
				if want != "429" {
					if got.err != nil || got.status != http.StatusOK || got.provider != want {
						t.Fatalf("request %d: %+v (err %v), want 200 from %s", i+1, got, got.err, want)
					}
					if h := got.header.Get("X-Weir-Provider"); h != want {
						t.Fatalf("request %d: x-weir-provider %q", i+1, h)
					}
					continue
				}
				ge := got.err
				if ge == nil || ge.Status != http.StatusTooManyRequests || ge.Type != TypeRateLimit || ge.Code != tc.code || ge.Message != tc.message {
					t.Fatalf("request %d: %+v, want 429 %s %q", i+1, ge, tc.code, tc.message)
				}
				if ge.RetryAfter <= 0 {
					t.Fatalf("request %d: no Retry-After", i+1)
				}
				if ge.Header.Get("x-ratelimit-limit-requests") != "1" || ge.Header.Get("x-ratelimit-remaining-requests") != "0" {
					t.Fatalf("request %d: rate headers %v", i+1, ge.Header)
				}
			}
			if len(a.Calls()) != tc.aHits {
				t.Fatalf("a was called %d times, want %d", len(a.Calls()), tc.aHits)
			}
			if tc.aStatus != 0 {
				for _, ls := range gov.PeekProvider("a") {
					if ls.Status.Used != 0 {
						t.Fatalf("failed attempts left %d on %s", ls.Status.Used, ls.Limit)
					}
				}
			}
		})
	}
}

// TestTargetLimitNotDoubleCounted: a key naming "provider/model" has its provider_limits taken once, at
// admission; the attempt takes only the provider level.
func TestTargetLimitNotDoubleCounted(t *testing.T) {
	a := &cannedProvider{ProviderName: "a", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
	b := &cannedProvider{ProviderName: "b", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
	e, gov := newTargetEngine(t, a, b,
		governance.Config{Providers: []governance.ProviderConfig{{Name: "a", RateLimits: &governance.RateLimits{RPM: 2}}}},
		map[string]governance.RateLimits{"a": {RPM: 2}})
	p := gov.Authenticate(targetKey)
	body := `{"model":"a/gpt-4o-mini","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
	for i := range 2 {
		if got := serveChat(t, e, p, body); got.status != http.StatusOK {
			t.Fatalf("request %d: %+v %v", i+1, got, got.err)
		}
	}
	got := serveChat(t, e, p, body)
	if got.err == nil || got.err.Status != http.StatusTooManyRequests || !strings.HasPrefix(got.err.Message, "virtual key k: a rpm 2") {
		t.Fatalf("third request: %+v %v", got, got.err)
	}
}
