package gateway

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/provider"
)

// FuzzAdmissionEstimate: whatever completion cap a body names, in whichever field its dialect reads, the
// reservation is never negative, never smaller than that of a smaller cap, and never wraps past the int64 range
// (a max_tokens of 1e20 once wrapped the cost negative, and every request fit any budget).
func FuzzAdmissionEstimate(f *testing.F) {
	for _, s := range [][2]float64{{1, 2}, {5, 1e20}, {1e20, 1e300}, {16384, 16385}, {1, math.MaxInt64}, {9.2e18, 9.3e18}, {1 << 20, 1<<20 + 1}} {
		f.Add(s[0], s[1], uint8(0), uint8(0))
		f.Add(s[0], s[1], uint8(3), uint8(2))
	}
	prices := pricing.NewRegistry()
	models := []string{"a/gpt-4o-mini", "openai/gpt-4o", "nobody/unpriced", "anthropic/claude-opus-4-20250514"}
	fields := []func(n string) string{
		func(n string) string { return `{"max_tokens":` + n + `}` },
		func(n string) string { return `{"max_completion_tokens":` + n + `}` },
		func(n string) string { return `{"max_output_tokens":` + n + `}` },
		func(n string) string { return `{"generationConfig":{"maxOutputTokens":` + n + `}}` },
		func(n string) string { return `{"inferenceConfig":{"maxTokens":` + n + `}}` },
		func(n string) string { return `{"max_tokens":1,"max_tokens":` + n + `}` },
	}
	f.Fuzz(func(t *testing.T, a, b float64, field, model uint8) {
		if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) || a < 1 || b < 1 {
			return // not a valid cap: the default is assumed
		}
		if a > b {
			a, b = b, a
		}
		m := models[int(model)%len(models)]
		body := fields[int(field)%len(fields)]
		na, nb := strconv.FormatFloat(a, 'g', -1, 64), strconv.FormatFloat(b, 'g', -1, 64)
		// Padded alike: the prompt is estimated from the body's length.
		na += strings.Repeat(" ", max(len(nb)-len(na), 0))
		nb += strings.Repeat(" ", max(len(na)-len(nb), 0))
		small, smallOut := estimate(prices, m, []byte(body(na)))
		large, largeOut := estimate(prices, m, []byte(body(nb)))
		for _, est := range []struct {
			tokens, out int64
			cost        pricing.Money
		}{{small.Tokens, smallOut, small.Cost}, {large.Tokens, largeOut, large.Cost}} {
			if est.tokens <= 0 || est.cost < 0 || est.out <= 0 || est.out > pricing.MaxCompletionCap {
				t.Fatalf("%s: estimate %+v", m, est)
			}
		}
		if large.Tokens < small.Tokens || large.Cost < small.Cost || largeOut < smallOut {
			t.Fatalf("%s: cap %g reserves %+v (out %d), less than cap %g's %+v (out %d)", m, b, large, largeOut, a, small, smallOut)
		}
	})
}

// TestGovernanceHugeMaxTokensCannotOverAdmit fires 100 concurrent requests asking for max_tokens 1e20 at a key
// whose budget holds five worst-case reservations: the estimate is clamped to the model's output limit and the
// budget check cannot wrap, so at most five reach the upstream (33 of 200 once did, on a budget for 5).
func TestGovernanceHugeMaxTokensCannotOverAdmit(t *testing.T) {
	const n = 100
	a := &cannedProvider{ProviderName: "a", Body: cannedChat, Stream: cannedStream, Header: jsonHeader, Hold: make(chan struct{})}
	b := &cannedProvider{ProviderName: "b", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
	// gpt-4o-mini writes at most 16,384 tokens at $0.0000006: ~$0.00983 a request, five in $0.05.
	gc := governance.Config{VirtualKeys: []governance.VirtualKeyConfig{{ID: "five", Value: fiveKey,
		Budget: &governance.BudgetConfig{MaxUSD: 0.05, Reset: "1d"}}}}
	e, gov := newTargetEngine(t, a, b, gc, nil)
	p := gov.Authenticate(fiveKey)
	results := make(chan served, n)
	for i := range n {
		body := `{"model":"a/gpt-4o-mini","max_tokens":1e20,"messages":[{"role":"user","content":"hi"}]}`
		if i%2 == 1 {
			body = `{"model":"a/gpt-4o-mini","max_completion_tokens":100000000000000000000,"messages":[{"role":"user","content":"hi"}]}`
		}
		go func() { results <- serveChatAsync(e, p, body) }()
	}
	// Every request is either refused or held in the upstream; then let the held ones answer.
	refused := 0
	deadline := time.After(10 * time.Second)
	for refused+int(a.Entered.Load()) < n {
		select {
		case r := <-results:
			if r.err == nil || r.err.Status != http.StatusTooManyRequests || r.err.Code != "budget_exceeded" {
				t.Fatalf("a request answered before the held ones were released: %+v %v", r, r.err)
			}
			refused++
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("refused %d, held %d of %d", refused, a.Entered.Load(), n)
		}
	}
	admitted := int(a.Entered.Load())
	close(a.Hold)
	for range n - refused {
		if r := <-results; r.err != nil {
			t.Fatalf("an admitted request failed: %v", r.err)
		}
	}
	if admitted > 5 || admitted == 0 {
		t.Fatalf("%d of %d requests admitted on a budget for 5", admitted, n)
	}
	t.Logf("%d of %d admitted", admitted, n)
}

const fiveKey = "wk-five0123456789abcdefghijABCDEFGHIJ01234"

// serveChatAsync is serveChat for a goroutine (no *testing.T).
func serveChatAsync(e *Engine, p *governance.Principal, body string) served {
	x := e.AcquireExchange()
	defer e.ReleaseExchange(x)
	sink := &bufferSink{h: http.Header{}}
	req := Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}, Principal: p}
	out, err := e.Serve(context.Background(), x, &req, sink)
	if err != nil {
		ge, _ := err.(*Error)
		if ge == nil {
			ge = &Error{Message: err.Error()}
		}
		return served{err: ge}
	}
	return served{provider: out.Provider, status: sink.status}
}

// TestBudgetRefusalSaysWhatWouldFit: a key with money left, but less than a request's worst case, is told what
// the request may cost, with which max_tokens, and what is left; a smaller max_tokens then fits.
func TestBudgetRefusalSaysWhatWouldFit(t *testing.T) {
	a := &cannedProvider{ProviderName: "a", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
	b := &cannedProvider{ProviderName: "b", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
	gc := governance.Config{VirtualKeys: []governance.VirtualKeyConfig{{ID: "five", Value: fiveKey,
		Budget: &governance.BudgetConfig{MaxUSD: 0.005, Reset: "1d"}}}}
	e, gov := newTargetEngine(t, a, b, gc, nil)
	p := gov.Authenticate(fiveKey)
	got := serveChat(t, e, p, `{"model":"a/gpt-4o-mini","max_tokens":1e20,"messages":[{"role":"user","content":"hi"}]}`)
	if got.err == nil || got.err.Status != http.StatusTooManyRequests || got.err.Code != "budget_exceeded" {
		t.Fatalf("%+v %v", got, got.err)
	}
	for _, want := range []string{"may cost up to $0.0098", "(max_tokens 16384)", "virtual key five has $0.005 left", "lower max_tokens"} {
		if !strings.Contains(got.err.Message, want) {
			t.Errorf("message %q lacks %q", got.err.Message, want)
		}
	}
	if got := serveChat(t, e, p, `{"model":"a/gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`); got.err != nil {
		t.Fatalf("a smaller max_tokens: %v", got.err)
	}
}
