package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var knownProviders = map[string]bool{"azure-east": true, "openai": true, "anthropic": true, "bedrock": true}

func providerOK(p string) bool { return knownProviders[p] }

func testModels() []ModelConfig {
	return []ModelConfig{
		{
			Name: "smart", Strategy: StrategyRoundRobin,
			Targets: []Target{
				{Provider: "azure-east", Model: "gpt-4o", Weight: 70},
				{Provider: "openai", Model: "gpt-4o", Weight: 30},
			},
			Fallbacks: []string{"claude"},
			Retries:   &Retries{Max: 2, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second},
			Timeout:   30 * time.Second,
		},
		{
			Name:      "claude",
			Targets:   []Target{{Provider: "anthropic", Model: "claude-sonnet-4-5"}},
			Fallbacks: []string{"bedrock/claude", "smart-lite"},
			Retries:   &Retries{Max: 1},
		},
		{
			Name: "smart-lite",
			// gpt-4o-mini has weight 0: a standby after gpt-4o, which keeps the test order deterministic.
			Targets: []Target{{Provider: "openai", Model: "gpt-4o", Weight: 1}, {Provider: "openai", Model: "gpt-4o-mini"}},
		},
		{Name: "cheap", Targets: []Target{{Provider: "openai", Model: "gpt-4o-mini"}}, Retries: &Retries{Max: 0}},
	}
}

func newTestRouter(t testing.TB, c *clock) *Router {
	t.Helper()
	r, err := New(testModels(), Options{ProviderExists: providerOK, Now: c.Now, Registry: NewRegistry(c.Now), Rand: seeded(21)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// walk drives a plan, answering every attempt with outcome, and records "target#try" (plus "+delay" for
// waits and "!" for forced probes). It advances the clock by each backoff, as the gateway would by waiting.
func walk(t *testing.T, c *clock, p *Plan, outcome func(Attempt) Outcome) []string {
	t.Helper()
	var got []string
	o := Outcome{}
	for i := 0; ; i++ {
		a, ok := p.Next(o)
		if !ok {
			return got
		}
		if i > 100 {
			t.Fatal("plan does not end")
		}
		c.Advance(a.Delay)
		s := fmt.Sprintf("%s#%d", a.Target.Key(), a.Try)
		if a.Forced {
			s += "!"
		}
		got = append(got, s)
		a.Begin()
		o = outcome(a)
		a.End(time.Millisecond, o.Decision == Success, statusOf(o.Decision), o.RetryAfter)
	}
}

func statusOf(d Decision) int {
	switch d {
	case Success:
		return 200
	case Fail:
		return 400
	case NextTarget:
		return 401
	}
	return 503
}

func always(d Decision) func(Attempt) Outcome {
	return func(Attempt) Outcome { return Outcome{Decision: d} }
}

func TestPlanOrder(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	tests := []struct {
		name     string
		model    string
		perReq   []string
		outcome  func(Attempt) Outcome
		want     []string
		wantErr  error
		wantSize int
	}{
		{
			name: "success on first", model: "smart", outcome: always(Success),
			want: []string{"azure-east/gpt-4o#0"},
		},
		{
			name: "retries per target, then fallbacks recursively, each target once", model: "smart",
			outcome: always(RetrySame),
			want: []string{
				"openai/gpt-4o#0", "openai/gpt-4o#1", "openai/gpt-4o#2", // round-robin moved on
				"azure-east/gpt-4o#0", "azure-east/gpt-4o#1", "azure-east/gpt-4o#2",
				"anthropic/claude-sonnet-4-5#0", "anthropic/claude-sonnet-4-5#1", // claude's own retries
				"bedrock/claude#0", "bedrock/claude#1", // provider/model fallback inherits claude's retries
				"openai/gpt-4o-mini#0", "openai/gpt-4o-mini#1", "openai/gpt-4o-mini#2", // smart-lite: defaults; gpt-4o already planned
			},
		},
		{
			name: "next target skips retries", model: "claude", outcome: always(NextTarget),
			want: []string{"anthropic/claude-sonnet-4-5#0", "bedrock/claude#0", "openai/gpt-4o#0", "openai/gpt-4o-mini#0"},
		},
		{
			name: "fail stops", model: "smart", outcome: always(Fail),
			want: []string{"azure-east/gpt-4o#0"}, // third plan of smart: round-robin is back at azure
		},
		{
			name: "per-request fallbacks come last", model: "cheap", perReq: []string{"anthropic/claude-opus-4", "claude"},
			outcome: always(NextTarget),
			want:    []string{"openai/gpt-4o-mini#0", "anthropic/claude-opus-4#0", "anthropic/claude-sonnet-4-5#0", "bedrock/claude#0", "openai/gpt-4o#0"},
		},
		{
			name: "plain provider/model gets default retries", model: "openai/o3", outcome: always(RetrySame),
			want: []string{"openai/o3#0", "openai/o3#1", "openai/o3#2"},
		},
		{
			name: "model names may contain slashes", model: "bedrock/meta/llama-3", outcome: always(Success),
			want: []string{"bedrock/meta/llama-3#0"},
		},
		{name: "unknown alias", model: "nope", wantErr: ErrUnknownModel},
		{name: "unknown provider", model: "nope/gpt-4o", wantErr: ErrUnknownModel},
		{name: "unknown per-request fallback", model: "cheap", perReq: []string{"nope"}, wantErr: ErrUnknownModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := r.Plan(tt.model, tt.perReq)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := walk(t, c, p, tt.outcome)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("attempts:\n got  %s\n want %s", strings.Join(got, " "), strings.Join(tt.want, " "))
			}
			// Reset breakers between cases: every case starts healthy.
			c.Advance(time.Hour)
			for _, s := range r.Registry().Snapshot() {
				ts := r.Registry().Lookup(splitKey(s.Target))
				ts.breaker.word.Store(0)
			}
		})
	}
}

func splitKey(k string) (string, string) { p, m, _ := splitTarget(k); return p, m }

func TestPlanAttemptFields(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	p, _ := r.Plan("smart", nil)
	a, _ := p.Next(Outcome{})
	if a.Alias != "smart" || a.Timeout != 30*time.Second || a.Delay != 0 || a.Try != 0 || a.Probe {
		t.Fatalf("first attempt: %+v", a)
	}
	a, _ = p.Next(Outcome{Decision: RetrySame})
	if a.Try != 1 || a.Delay < 0 || a.Delay > 200*time.Millisecond {
		t.Fatalf("first retry: %+v", a)
	}
	a, _ = p.Next(Outcome{Decision: RetrySame, RetryAfter: 2 * time.Second})
	if a.Try != 2 || a.Delay != 2*time.Second {
		t.Fatalf("retry honouring Retry-After: %+v", a)
	}
	if _, ok := p.Next(Outcome{Decision: Success}); ok {
		t.Fatal("plan continued after success")
	}
	if _, ok := p.Next(Outcome{}); ok {
		t.Fatal("finished plan restarted")
	}
	d, _ := r.Plan("openai/o3", nil)
	if a, _ := d.Next(Outcome{}); a.Alias != "" || a.Timeout != 0 {
		t.Fatalf("direct attempt: %+v", a)
	}
}

func TestPlanDeadline(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	// Retry-After 5s would pass the deadline: no wait, straight to the next candidate.
	q, _ := r.Plan("openai/o3", []string{"anthropic/claude-opus-4"})
	q.WithDeadline(c.Now().Add(time.Second))
	q.Next(Outcome{})
	a, ok := q.Next(Outcome{Decision: RetrySame, RetryAfter: 5 * time.Second})
	if !ok || a.Target.Key() != "anthropic/claude-opus-4" || a.Delay != 0 {
		t.Fatalf("wait past deadline should move on: ok=%v %+v", ok, a)
	}
	// A wait that fits is taken.
	a, ok = q.Next(Outcome{Decision: RetrySame, RetryAfter: 500 * time.Millisecond})
	if !ok || a.Target.Key() != "anthropic/claude-opus-4" || a.Try != 1 || a.Delay < 500*time.Millisecond {
		t.Fatalf("wait within deadline: ok=%v %+v", ok, a)
	}
	c.Advance(time.Second)
	if _, ok := q.Next(Outcome{Decision: NextTarget}); ok {
		t.Fatal("attempt after the deadline")
	}
	// Without a deadline, an absurd Retry-After is not waited either.
	z, _ := r.Plan("openai/o3", nil)
	z.Next(Outcome{})
	if _, ok := z.Next(Outcome{Decision: RetrySame, RetryAfter: time.Hour}); ok {
		t.Fatal("waited an hour")
	}
}

func TestPlanSkipsOpenBreakers(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	reg := r.Registry()
	for range 5 {
		fail(reg.Lookup("anthropic", "claude-sonnet-4-5"), 503)
	}
	p, _ := r.Plan("claude", nil)
	got := walk(t, c, p, always(NextTarget))
	want := []string{"bedrock/claude#0", "openai/gpt-4o#0", "openai/gpt-4o-mini#0"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPlanAllOpenProbesSoonest(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	reg := r.Registry()
	open := func(p, m string) {
		for range 5 {
			fail(reg.Get(p, m), 503)
		}
	}
	open("openai", "gpt-4o-mini")
	c.Advance(10 * time.Second)
	open("openai", "gpt-4o") // opened later: cools down later
	p, _ := r.Plan("cheap", []string{"openai/gpt-4o"})
	got := walk(t, c, p, always(RetrySame))
	if want := []string{"openai/gpt-4o-mini#0!"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A forced probe that succeeds closes its breaker at once.
	p, _ = r.Plan("cheap", nil)
	a, _ := p.Next(Outcome{})
	if !a.Forced {
		t.Fatalf("want forced probe: %+v", a)
	}
	a.Begin()
	a.End(time.Millisecond, true, 200, 0)
	if s := reg.Lookup("openai", "gpt-4o-mini").State().State; s != "closed" {
		t.Fatalf("after forced probe success: %s", s)
	}
}

func TestPlanHalfOpenProbeClaimedLazily(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	ts := r.Registry().Lookup("anthropic", "claude-sonnet-4-5")
	for range 5 {
		fail(ts, 503)
	}
	c.Advance(30 * time.Second)
	p1, _ := r.Plan("claude", nil)
	p2, _ := r.Plan("claude", nil) // planning alone claims nothing
	a1, _ := p1.Next(Outcome{})
	a2, _ := p2.Next(Outcome{})
	if a1.Target != ts || !a1.Probe {
		t.Fatalf("first request should probe: %+v", a1)
	}
	if a2.Target == ts {
		t.Fatal("second request sent to the half-open target while the probe is out")
	}
}

func TestPlanRetryAfter429ReusesTarget(t *testing.T) {
	// A 429 with Retry-After opens the breaker for exactly that long; the retry, sent after waiting it
	// out, is still allowed (as the probe), rather than abandoning the only target.
	c := newClock()
	r := newTestRouter(t, c)
	p, _ := r.Plan("openai/o3", nil)
	a, _ := p.Next(Outcome{})
	a.Begin()
	a.End(0, false, 429, 2*time.Second)
	b, ok := p.Next(Outcome{Decision: RetrySame, RetryAfter: 2 * time.Second})
	if !ok || b.Target != a.Target || b.Delay < 2*time.Second || !b.Probe {
		t.Fatalf("retry after 429: ok=%v %+v", ok, b)
	}
}

func TestRouterReloadKeepsState(t *testing.T) {
	c := newClock()
	r := newTestRouter(t, c)
	ts := r.Registry().Lookup("anthropic", "claude-sonnet-4-5")
	for range 5 {
		fail(ts, 503)
	}
	models := testModels()
	models[1].Cooldown = &BreakerConfig{Duration: time.Minute}
	r2, err := New(models, Options{ProviderExists: providerOK, Now: c.Now, Registry: r.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	if got := r2.Registry().Lookup("anthropic", "claude-sonnet-4-5"); got != ts || got.State().State != "open" {
		t.Fatal("reload lost the breaker")
	}
	if d := ts.breaker.config().Duration; d != time.Minute {
		t.Fatalf("per-alias cooldown not applied: %v", d)
	}
	if d := r2.Registry().Lookup("openai", "gpt-4o").breaker.config().Duration; d != DefaultBreaker.Duration {
		t.Fatalf("global cooldown: %v", d)
	}
}

func TestNewRejectsInvalid(t *testing.T) {
	models := testModels()
	models[2].Fallbacks = []string{"claude"} // claude -> smart-lite -> claude
	_, err := New(models, Options{ProviderExists: providerOK})
	if err == nil || !strings.Contains(err.Error(), "fallback cycle claude -> smart-lite -> claude") {
		t.Fatalf("err = %v", err)
	}
}
