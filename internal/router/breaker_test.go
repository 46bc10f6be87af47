package router

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func stateOf(t *TargetState) string { return t.State().State }

// allowNow claims the breaker like Plan does and returns an Attempt to report through.
func allowNow(t *TargetState) (Attempt, bool) {
	ok, probe := t.Allow()
	return Attempt{Target: t, Probe: probe}, ok
}

func TestBreakerConsecutiveFailures(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	for i := range 4 {
		fail(ts, 503)
		if s := stateOf(ts); s != "closed" {
			t.Fatalf("after %d failures: %s", i+1, s)
		}
	}
	succeed(ts, time.Millisecond) // a success resets the run
	for range 4 {
		fail(ts, 500)
	}
	if s := stateOf(ts); s != "closed" {
		t.Fatalf("4 failures after a success: %s", s)
	}
	fail(ts, 0) // connection error: fifth in a row
	if s := stateOf(ts); s != "open" {
		t.Fatalf("after 5 consecutive failures: %s", s)
	}
	if ok, _ := ts.Allow(); ok {
		t.Fatal("open breaker let a request through")
	}
	if until := ts.State().OpenUntil; !until.Equal(c.Now().Add(30 * time.Second)) {
		t.Fatalf("open until %v, want now+30s", until)
	}
}

func TestBreakerClientErrorsDoNotCount(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	for _, st := range []int{400, 404, 413, 422, 400, 400, 400} {
		fail(ts, st)
	}
	if s := stateOf(ts); s != "closed" {
		t.Fatalf("client errors opened the breaker: %s", s)
	}
	for _, st := range []int{401, 403, 408, 429, 529} { // provider-side: they count
		fail(ts, st)
	}
	if s := stateOf(ts); s != "open" {
		t.Fatalf("5 provider failures: %s", s)
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	// Alternate so consecutive failures never reach 5: the ratio alone must trip at request 20.
	for i := range 19 {
		if i%2 == 0 {
			fail(ts, 502)
		} else {
			succeed(ts, time.Millisecond)
		}
		c.Advance(time.Second)
	}
	if s := stateOf(ts); s != "closed" {
		t.Fatalf("below min_requests: %s", s)
	}
	succeed(ts, time.Millisecond) // 20 requests, 10 failures: only a failure re-evaluates the ratio
	fail(ts, 502)                 // 21 requests, 11 failures ≥ 50%: open
	if s := stateOf(ts); s != "open" {
		t.Fatalf("11/21 failures: %s", s)
	}
}

func TestBreakerWindowSlides(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	for range 10 {
		fail(ts, 500)
		succeed(ts, time.Millisecond) // keep consecutive low
	}
	c.Advance(31 * time.Second) // all of that is out of the window now
	for range 3 {
		fail(ts, 500)
	}
	if s := ts.State(); s.State != "closed" || s.WindowRequests != 3 {
		t.Fatalf("old failures still counted: %+v", s)
	}
}

func TestBreakerHalfOpenProbe(t *testing.T) {
	tests := []struct {
		name      string
		probeOK   bool
		wantState string
	}{
		{"probe success closes", true, "closed"},
		{"probe failure reopens", false, "open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			ts := targets(c, "p/m")[0]
			for range 5 {
				fail(ts, 503)
			}
			c.Advance(29 * time.Second)
			if _, ok := allowNow(ts); ok {
				t.Fatal("allowed during cooldown")
			}
			c.Advance(time.Second)
			if s := stateOf(ts); s != "half_open" {
				t.Fatalf("after cooldown reports %s", s)
			}
			a, ok := allowNow(ts)
			if !ok || !a.Probe {
				t.Fatalf("first caller after cooldown: ok=%v probe=%v", ok, a.Probe)
			}
			if _, ok := allowNow(ts); ok {
				t.Fatal("second request allowed while the probe is in flight")
			}
			// A request started before the breaker opened finishing now does not decide the probe.
			fail(ts, 500)
			if s := stateOf(ts); s != "half_open" {
				t.Fatalf("non-probe result moved half-open to %s", s)
			}
			a.Begin()
			if tt.probeOK {
				a.End(10*time.Millisecond, true, 200, 0)
			} else {
				a.End(0, false, 503, 0)
			}
			if s := stateOf(ts); s != tt.wantState {
				t.Fatalf("after probe: %s, want %s", s, tt.wantState)
			}
			if !tt.probeOK {
				if until := ts.State().OpenUntil; !until.Equal(c.Now().Add(30 * time.Second)) {
					t.Fatalf("reopened until %v, want a full cooldown", until)
				}
				return
			}
			if s := ts.State(); s.WindowRequests != 0 || s.Consecutive != 0 {
				t.Fatalf("closing should forget old failures: %+v", s)
			}
		})
	}
}

func TestBreakerLostProbeLeaseExpires(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	for range 5 {
		fail(ts, 503)
	}
	c.Advance(30 * time.Second)
	if _, ok := allowNow(ts); !ok {
		t.Fatal("no probe")
	}
	// The probe never reports. After a lease (= cooldown) another caller may probe.
	c.Advance(29 * time.Second)
	if _, ok := allowNow(ts); ok {
		t.Fatal("second probe within the lease")
	}
	c.Advance(time.Second)
	if a, ok := allowNow(ts); !ok || !a.Probe {
		t.Fatal("no new probe after the lease expired")
	}
}

func TestBreakerCancelReleasesProbe(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	for range 5 {
		fail(ts, 503)
	}
	c.Advance(30 * time.Second)
	a, _ := allowNow(ts)
	a.Begin()
	a.Cancel()
	if b, ok := allowNow(ts); !ok || !b.Probe {
		t.Fatal("cancelled probe was not handed to the next caller")
	}
	if ts.InFlight() != 0 {
		t.Fatalf("in flight = %d", ts.InFlight())
	}
}

func TestBreaker429RetryAfter(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	ts.Begin()
	ts.End(0, false, 429, 7*time.Second)
	if s := ts.State(); s.State != "open" || !s.OpenUntil.Equal(c.Now().Add(7*time.Second)) {
		t.Fatalf("429 Retry-After 7s: %+v", s)
	}
	c.Advance(7*time.Second - 1)
	if ok, _ := ts.Allow(); ok {
		t.Fatal("allowed before Retry-After elapsed")
	}
	c.Advance(1)
	if ok, probe := ts.Allow(); !ok || !probe {
		t.Fatal("not probing once Retry-After elapsed")
	}
}

func TestBreakerHugeRetryAfterStaysOpen(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	ts.Begin()
	ts.End(0, false, 429, time.Duration(1<<63-1))
	c.Advance(24 * time.Hour)
	if ok, _ := ts.Allow(); ok {
		t.Fatal("overflowing Retry-After closed the breaker")
	}
}

func TestBreakerSingleProbeUnderConcurrency(t *testing.T) {
	c := newClock()
	ts := targets(c, "p/m")[0]
	for range 5 {
		fail(ts, 503)
	}
	c.Advance(30 * time.Second)
	var granted, probes atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 100 {
				if ok, probe := ts.Allow(); ok {
					granted.Add(1)
					if probe {
						probes.Add(1)
					}
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if granted.Load() != 1 || probes.Load() != 1 {
		t.Fatalf("granted %d requests (%d probes), want exactly one probe", granted.Load(), probes.Load())
	}
}

func TestBreakerConcurrentRecording(t *testing.T) {
	// Race-detector exercise of End/Allow/State together; the count must be exact.
	c := newClock()
	ts := targets(c, "p/m")[0]
	cfg := BreakerConfig{Failures: 1 << 30, Ratio: 1, MinRequests: 1 << 30}.withDefaults()
	ts.breaker.cfg.Store(&cfg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				ts.Allow()
				if (i+g)%3 == 0 {
					fail(ts, 500)
				} else {
					succeed(ts, time.Millisecond)
				}
				_ = ts.State()
			}
		}()
	}
	wg.Wait()
	if s := ts.State(); s.WindowRequests != 4000 || s.InFlight != 0 {
		t.Fatalf("state after 4000 requests: %+v", s)
	}
}
