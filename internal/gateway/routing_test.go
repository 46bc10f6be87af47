package gateway

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/provider"
)

// storedCanned is a stored provider of type canned named name, with the given key values.
func storedCanned(name string, keys ...string) provider.Config {
	pc := provider.Config{Common: provider.Common{Name: name, Type: "canned"}}
	for _, k := range keys {
		pc.Keys = append(pc.Keys, provider.KeyConfig{Value: k})
	}
	return pc
}

// serveModel serves one chat request for model and returns the provider that answered, or the gateway's error.
func serveModel(t testing.TB, e *Engine, model string) (string, *Error) {
	req := Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Header: http.Header{},
		Body: []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`)}
	x := e.AcquireExchange()
	defer e.ReleaseExchange(x)
	out, err := e.Serve(context.Background(), x, &req, &discard{h: http.Header{}})
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) {
			return "", ge
		}
		t.Errorf("serve %s: %v", model, err)
		return "", nil
	}
	return out.Provider, nil
}

func TestSetStoredRoutesEditsAndRemoves(t *testing.T) {
	up := &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}
	live := &cannedProvider{ProviderName: "live", Body: cannedChat, Header: jsonHeader, Record: true}
	e := newTestEngine(t, up, "")
	cannedProviders["live"] = live

	if _, gerr := serveModel(t, e, "live/m"); gerr == nil || gerr.Status != http.StatusNotFound {
		t.Fatalf("before it is stored: got %v, want a 404", gerr)
	}
	if failed := e.SetStored([]provider.Config{storedCanned("live", "key-one")}); len(failed) > 0 {
		t.Fatalf("SetStored: %v", failed)
	}
	steps := []struct {
		name    string
		stored  []provider.Config
		wantKey string // "": the request is refused with 404
	}{
		{"created", []provider.Config{storedCanned("live", "key-one")}, "key-one"},
		{"key edited", []provider.Config{storedCanned("live", "key-two")}, "key-two"},
		{"removed", nil, ""},
		{"created again", []provider.Config{storedCanned("live", "key-three")}, "key-three"},
	}
	for _, s := range steps {
		if failed := e.SetStored(s.stored); len(failed) > 0 {
			t.Fatalf("%s: SetStored: %v", s.name, failed)
		}
		got, gerr := serveModel(t, e, "live/m")
		if s.wantKey == "" {
			if gerr == nil || gerr.Status != http.StatusNotFound || !strings.Contains(gerr.Message, "live/m") {
				t.Fatalf("%s: got provider %q, error %v; want a 404 naming live/m", s.name, got, gerr)
			}
			continue
		}
		if gerr != nil || got != "live" {
			t.Fatalf("%s: got provider %q, error %v", s.name, got, gerr)
		}
		calls := live.Calls()
		if k := calls[len(calls)-1].Key; k == nil || k.Value != s.wantKey {
			t.Fatalf("%s: the call used key %v, want %s", s.name, k, s.wantKey)
		}
		// The configured provider is untouched by every change.
		if got, gerr := serveModel(t, e, "up/m"); gerr != nil || got != "up" {
			t.Fatalf("%s: up/m: %q %v", s.name, got, gerr)
		}
	}
}

func TestSetStoredConfigFileWins(t *testing.T) {
	up := &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}
	e := newTestEngine(t, up, "")
	before := e.Upstream("up")
	failed := e.SetStored([]provider.Config{storedCanned("up", "other")})
	if !errors.Is(failed["up"], providerset.ErrShadowed) {
		t.Fatalf("failed = %v, want up shadowed", failed)
	}
	if e.Upstream("up") != before || e.Routes().Stored("up") {
		t.Fatal("a stored provider replaced the configured one")
	}
}

func TestSetStoredReportsBuildProblems(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}, "")
	bad := provider.Config{Common: provider.Common{Name: "bad", Type: "no-such-type"}}
	failed := e.SetStored([]provider.Config{bad})
	if failed["bad"] == nil || !strings.Contains(failed["bad"].Error(), "type: unknown provider type") {
		t.Fatalf("failed = %v, want bad's unknown type with a relative path", failed)
	}
	if e.Upstream("bad") != nil {
		t.Fatal("a provider that cannot be built is routed")
	}
}

func TestSetStoredKeepsWhatDidNotChange(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}, "")
	for _, n := range []string{"same", "edited", "resized"} {
		cannedProviders[n] = &cannedProvider{ProviderName: n, Body: cannedChat, Header: jsonHeader}
	}
	resized := storedCanned("resized", "k")
	e.SetStored([]provider.Config{storedCanned("same", "k"), storedCanned("edited", "k"), resized})
	for _, n := range []string{"same", "edited", "resized"} {
		if _, gerr := serveModel(t, e, n+"/m"); gerr != nil {
			t.Fatal(gerr)
		}
	}
	before := map[string]*Upstream{}
	for _, n := range []string{"up", "same", "edited", "resized"} {
		before[n] = e.Upstream(n)
	}
	resized.Concurrency = 7
	e.SetStored([]provider.Config{storedCanned("same", "k"), storedCanned("edited", "k2"), resized})

	reg := e.router.Registry()
	tests := []struct {
		name                 string
		sameUpstream         bool
		samePool             bool
		breakerKept, counted bool
	}{
		{"up", true, true, false, false},
		{"same", true, true, true, true},
		{"edited", false, true, false, false},
		{"resized", false, false, false, false},
	}
	for _, tt := range tests {
		now := e.Upstream(tt.name)
		if (now == before[tt.name]) != tt.sameUpstream {
			t.Errorf("%s: upstream kept = %v, want %v", tt.name, now == before[tt.name], tt.sameUpstream)
		}
		if (now.Pool == before[tt.name].Pool) != tt.samePool {
			t.Errorf("%s: pool kept = %v, want %v", tt.name, now.Pool == before[tt.name].Pool, tt.samePool)
		}
		if tt.name == "up" {
			continue
		}
		if kept := reg.Lookup(tt.name, "m") != nil; kept != tt.breakerKept {
			t.Errorf("%s: target state kept = %v, want %v", tt.name, kept, tt.breakerKept)
		}
		if counted := now.usage.Map()["requests"] == 1; counted != tt.counted {
			t.Errorf("%s: request counter kept = %v, want %v", tt.name, counted, tt.counted)
		}
	}
	if got := e.Upstream("resized").Pool.Stats().Concurrency; got != 7 {
		t.Errorf("resized pool concurrency = %d, want 7", got)
	}
}

// TestSetStoredRemovedFinishesInFlight: a request already sent to a provider that is then removed completes;
// a request arriving after the removal is refused.
func TestSetStoredRemovedFinishesInFlight(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}, "")
	held := &cannedProvider{ProviderName: "held", Body: cannedChat, Header: jsonHeader, Hold: make(chan struct{})}
	cannedProviders["held"] = held
	e.SetStored([]provider.Config{storedCanned("held", "k")})

	type result struct {
		provider string
		err      *Error
	}
	done := make(chan result, 1)
	go func() {
		p, gerr := serveModel(t, e, "held/m")
		done <- result{p, gerr}
	}()
	for held.Entered.Load() == 0 {
		runtime.Gosched() // until the request is at the upstream
	}
	e.SetStored(nil)
	if _, gerr := serveModel(t, e, "held/m"); gerr == nil || gerr.Status != http.StatusNotFound {
		t.Fatalf("after removal: %v, want 404", gerr)
	}
	close(held.Hold)
	if r := <-done; r.err != nil || r.provider != "held" {
		t.Fatalf("the in-flight request: provider %q, error %v; want it served by held", r.provider, r.err)
	}
}

// TestSetStoredUnderLoad swaps the provider set while requests flow (run with -race): every request is either
// served by a provider that existed when it was planned or refused with a 404, and a configured provider's
// requests all succeed.
func TestSetStoredUnderLoad(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}, "")
	cannedProviders["flap"] = &cannedProvider{ProviderName: "flap", Body: cannedChat, Header: jsonHeader}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p, gerr := serveModel(t, e, "flap/m"); gerr != nil && gerr.Status != http.StatusNotFound {
					t.Errorf("flap/m: %v", gerr)
				} else if gerr == nil && p != "flap" {
					t.Errorf("flap/m served by %q", p)
				}
				if _, gerr := serveModel(t, e, "up/m"); gerr != nil {
					t.Errorf("up/m: %v", gerr)
				}
			}
		})
	}
	for i := range 200 {
		switch i % 3 {
		case 0:
			e.SetStored([]provider.Config{storedCanned("flap", "k1")})
		case 1:
			e.SetStored([]provider.Config{storedCanned("flap", "k2")})
		default:
			e.SetStored(nil)
		}
		_ = e.Stats()
	}
	close(stop)
	wg.Wait()
}

func TestProviderStatsHealth(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}, "routing: {retries: {max: 0}}\n")
	failing := &cannedProvider{ProviderName: "down", Body: `{"error":{"message":"overloaded"}}`, Status: http.StatusServiceUnavailable, Header: jsonHeader}
	cannedProviders["down"] = failing
	e.SetStored([]provider.Config{storedCanned("down", "k")})
	for range 3 {
		serveModel(t, e, "up/m")
		serveModel(t, e, "down/m")
	}
	tests := []struct {
		name           string
		requests, errs int
		lastStatus     int // 0: no last error
	}{
		{"up", 3, 0, 0},
		{"down", 3, 3, http.StatusServiceUnavailable},
	}
	all := e.Stats()
	for _, tt := range tests {
		st, ok := e.ProviderStats(tt.name)
		if !ok || st.Health == nil {
			t.Fatalf("%s: no stats", tt.name)
		}
		if a := all[tt.name]; a.Health != nil || a.Pool != st.Pool || a.Usage["requests"] != st.Usage["requests"] {
			t.Errorf("%s: Stats (pool and usage only) and ProviderStats disagree: %+v vs %+v", tt.name, a, st)
		}
		h := st.Health
		if h.Recent.Requests != tt.requests || h.Recent.Errors != tt.errs {
			t.Errorf("%s: recent = %+v, want %d requests, %d errors", tt.name, h.Recent, tt.requests, tt.errs)
		}
		if (h.LastError == nil) != (tt.lastStatus == 0) || (h.LastError != nil && h.LastError.Status != tt.lastStatus) {
			t.Errorf("%s: last error = %+v, want status %d", tt.name, h.LastError, tt.lastStatus)
		}
		if len(h.Targets) != 1 || h.Targets[0].Model != "m" || h.Targets[0].WindowRequests != 3 {
			t.Errorf("%s: targets = %+v, want m with 3 requests in the window", tt.name, h.Targets)
		}
		if st.Usage["requests"] != 3 || st.Pool.Concurrency == 0 {
			t.Errorf("%s: usage %v, pool %+v", tt.name, st.Usage, st.Pool)
		}
	}
	if _, ok := e.ProviderStats("nope"); ok {
		t.Error("stats for a provider that does not exist")
	}
}

// TestSetStoredRetryStaysOnTheRemovedProvider: a request accepted before its provider is removed keeps the
// provider set it arrived with, so its retry still reaches the provider instead of failing as "no provider".
func TestSetStoredRetryStaysOnTheRemovedProvider(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader},
		"routing: {retries: {max: 1, backoff: 1ms, max_backoff: 1ms}}\n")
	held := &cannedProvider{ProviderName: "held", Body: `{"error":{"message":"busy"}}`, Header: jsonHeader, Hold: make(chan struct{})}
	cannedProviders["held"] = held
	e.SetStored([]provider.Config{storedCanned("held", "k")})

	done := make(chan Outcome, 1)
	go func() {
		req := Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Header: http.Header{},
			Body: []byte(`{"model":"held/m","messages":[{"role":"user","content":"hi"}]}`)}
		x := e.AcquireExchange()
		out, _ := e.Serve(context.Background(), x, &req, &discard{h: http.Header{}})
		out.Attempts = append([]AttemptInfo(nil), out.Attempts...)
		e.ReleaseExchange(x)
		done <- out
	}()
	for held.Entered.Load() == 0 {
		runtime.Gosched()
	}
	e.SetStored(nil)
	held.Status = http.StatusServiceUnavailable // read by the held call once Hold is closed
	close(held.Hold)
	out := <-done
	if len(out.Attempts) != 2 || held.Entered.Load() != 2 {
		t.Fatalf("attempts %+v, upstream calls %d: want both attempts at held", out.Attempts, held.Entered.Load())
	}
	for _, a := range out.Attempts {
		if a.Provider != "held" || a.Status != http.StatusServiceUnavailable {
			t.Fatalf("attempt %+v: want held's 503", a)
		}
	}
}

func TestSetStoredUnchangedKeepsTheSet(t *testing.T) {
	e := newTestEngine(t, &cannedProvider{ProviderName: "up", Body: cannedChat, Header: jsonHeader}, "")
	cannedProviders["same"] = &cannedProvider{ProviderName: "same", Body: cannedChat, Header: jsonHeader}
	e.SetStored([]provider.Config{storedCanned("same", "k")})
	before := e.Routes()
	e.SetStored([]provider.Config{storedCanned("same", "k")})
	if e.Routes() != before {
		t.Fatal("a reload that changed nothing swapped the set")
	}
	e.SetStored(nil)
	if e.Routes() == before || e.Upstream("same") != nil {
		t.Fatal("a removal was not swapped in")
	}
}
