// Package countertest is the semantics every governance.Counter implementation must have — sliding windows
// weighted by the previous window, budget periods, reservation then Adjust, saturating arithmetic, Status for
// the x-ratelimit-* headers — as one suite run against the in-memory counters and the Redis ones alike.
package countertest

import (
	"math"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
)

// Factory makes fresh counters, each with a count of its own.
type Factory struct {
	Window func(t *testing.T, width time.Duration) governance.Counter
	Period func(t *testing.T, r governance.Reset) governance.Counter
}

// Run runs every semantics test against f's counters.
func Run(t *testing.T, f Factory) {
	t.Run("SlidingWindow", func(t *testing.T) { slidingWindow(t, f) })
	t.Run("SlidingWindowRetryAfterIsEnough", func(t *testing.T) { retryAfterIsEnough(t, f) })
	t.Run("SlidingWindowAdjust", func(t *testing.T) { windowAdjust(t, f) })
	t.Run("SlidingWindowStatus", func(t *testing.T) { windowStatus(t, f) })
	t.Run("PeriodCounterResets", func(t *testing.T) { periodResets(t, f) })
	t.Run("PeriodCounterAdjustAcrossReset", func(t *testing.T) { periodAdjustAcrossReset(t, f) })
	t.Run("ReserveHugeAmountNeverWraps", func(t *testing.T) { hugeAmountNeverWraps(t, f) })
	t.Run("AdjustSaturates", func(t *testing.T) { adjustSaturates(t, f) })
}

const minute = int64(time.Minute)

func slidingWindow(t *testing.T, f Factory) {
	base := int64(1000) * minute // a window boundary
	type step struct {
		at     int64 // offset from base
		n      int64
		wantOK bool
		used   int64 // Used reported after the step
	}
	for _, tc := range []struct {
		name  string
		limit int64
		steps []step
	}{
		{"fills to the limit then refuses", 3, []step{
			{0, 1, true, 1}, {1, 1, true, 2}, {2, 1, true, 3}, {3, 1, false, 3},
		}},
		{"amount larger than what is left", 10, []step{
			{0, 8, true, 8}, {0, 3, false, 8}, {0, 2, true, 10},
		}},
		{"previous window weighs by overlap", 10, []step{
			{0, 10, true, 10},
			// at 1.5 windows: prev 10 × 0.5 = 5 counted
			{minute + minute/2, 5, true, 10},
			{minute + minute/2, 1, false, 10},
			// at 2.9 windows: prev (5) × 0.1 = ceil(0.5) = 1
			{2*minute + 9*minute/10, 9, true, 10},
		}},
		{"two windows later everything is gone", 2, []step{
			{0, 2, true, 2}, {2 * minute, 2, true, 2},
		}},
		{"a window at its limit takes nothing more", 1 << 40, []step{
			{0, governance.MaxWindowCount, true, governance.MaxWindowCount}, {0, 1, false, governance.MaxWindowCount},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.Window(t, time.Minute)
			for i, s := range tc.steps {
				ok, _, st := w.Reserve(base+s.at, s.n, tc.limit)
				if ok != s.wantOK || st.Used != s.used {
					t.Fatalf("step %d: ok=%v used=%d; want ok=%v used=%d", i, ok, st.Used, s.wantOK, s.used)
				}
				if !ok && st.RetryAfter <= 0 {
					t.Fatalf("step %d: refusal without RetryAfter", i)
				}
			}
		})
	}
}

func retryAfterIsEnough(t *testing.T, f Factory) {
	base := int64(500) * minute
	w := f.Window(t, time.Minute)
	for range 10 {
		w.Reserve(base+10*int64(time.Second), 1, 10)
	}
	ok, _, st := w.Reserve(base+20*int64(time.Second), 1, 10)
	if ok {
		t.Fatal("admitted over limit")
	}
	// Just before RetryAfter it still refuses; at RetryAfter it admits.
	at := base + 20*int64(time.Second) + int64(st.RetryAfter)
	if ok, _, _ := w.Reserve(at-int64(time.Second), 1, 10); ok {
		t.Fatalf("admitted before RetryAfter %v", st.RetryAfter)
	}
	if ok, _, _ := w.Reserve(at, 1, 10); !ok {
		t.Fatalf("refused at RetryAfter %v", st.RetryAfter)
	}
	if ok, _, st := w.Reserve(at, 11, 10); ok || st.RetryAfter != 0 {
		t.Fatalf("an amount above the limit must never fit: ok=%v retry=%v", ok, st.RetryAfter)
	}
}

func windowAdjust(t *testing.T, f Factory) {
	base := int64(7) * minute
	w := f.Window(t, time.Minute)
	_, win, _ := w.Reserve(base, 100, 1000)
	w.Adjust(base+1, win, -60) // settle to 40
	if st := w.Peek(base+1, 1000); st.Used != 40 {
		t.Fatalf("used %d after settle", st.Used)
	}
	w.Adjust(base+1, win, -1000) // never below zero
	if st := w.Peek(base+1, 1000); st.Used != 0 {
		t.Fatalf("used %d, want 0", st.Used)
	}
	_, win, _ = w.Reserve(base, 100, 1000)
	w.Adjust(base+3*minute, win, -100) // window long gone: dropped
	w.Adjust(base+3*minute, win, 50)   // extra actuals land in the current window
	if st := w.Peek(base+3*minute, 1000); st.Used != 50 {
		t.Fatalf("used %d, want 50", st.Used)
	}
	// A reservation settled in the next window corrects the window it was made in (which still weighs).
	_, win, _ = w.Reserve(base+4*minute, 100, 1000)
	w.Adjust(base+5*minute+minute/2, win, -50)
	if st := w.Peek(base+5*minute+minute/2, 1000); st.Used != 25 { // 50 × half a window
		t.Fatalf("used %d, want 25 (the previous window's corrected 50, half weighed)", st.Used)
	}
	// A previous window never written takes no correction.
	w2 := f.Window(t, time.Minute)
	w2.Adjust(base+minute, base/minute, 30)
	if st := w2.Peek(base+minute, 1000); st.Used != 0 {
		t.Fatalf("used %d: a correction created the never-written previous window", st.Used)
	}
}

func windowStatus(t *testing.T, f Factory) {
	base := int64(11) * minute
	w := f.Window(t, time.Minute)
	ok, _, st := w.Reserve(base+15*int64(time.Second), 4, 10)
	want := governance.Status{Limit: 10, Used: 4, Remaining: 6, Reset: 45 * time.Second}
	if !ok || st != want {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	if st := w.Peek(base+30*int64(time.Second), 10); st != (governance.Status{Limit: 10, Used: 4, Remaining: 6, Reset: 30 * time.Second}) {
		t.Fatalf("peek %+v", st)
	}
	if st := w.Peek(base+30*int64(time.Second), 3); st.Remaining != 0 || st.Used != 4 {
		t.Fatalf("peek against a lower limit %+v: Remaining must not go negative", st)
	}
}

func periodResets(t *testing.T, f Factory) {
	d := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	for _, tc := range []struct {
		reset        governance.Reset
		first, later string
		carried      bool // usage from first still counts at later
	}{
		{governance.ResetMinute, "2026-06-17T10:00:59Z", "2026-06-17T10:01:00Z", false},
		{governance.ResetHour, "2026-06-17T10:00:00Z", "2026-06-17T10:59:59Z", true},
		{governance.ResetHour, "2026-06-17T10:59:59Z", "2026-06-17T11:00:00Z", false},
		{governance.ResetDay, "2026-06-17T00:00:00Z", "2026-06-17T23:59:59Z", true},
		{governance.ResetDay, "2026-06-17T23:59:59Z", "2026-06-18T00:00:00Z", false},
		{governance.ResetWeek, "2026-06-15T00:00:00Z", "2026-06-21T23:59:59Z", true}, // Monday .. Sunday
		{governance.ResetWeek, "2026-06-21T23:59:59Z", "2026-06-22T00:00:00Z", false},
		{governance.ResetMonth, "2026-02-01T00:00:00Z", "2026-02-28T23:59:59Z", true},
		{governance.ResetMonth, "2026-02-28T23:59:59Z", "2026-03-01T00:00:00Z", false},
		{governance.ResetNever, "2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z", true},
	} {
		c := f.Period(t, tc.reset)
		if ok, _, _ := c.Reserve(d(tc.first), 10, 10); !ok {
			t.Fatalf("%s: first reserve refused", tc.reset)
		}
		ok, _, st := c.Reserve(d(tc.later), 1, 10)
		if ok == tc.carried {
			t.Errorf("%s %s→%s: admitted=%v, want carried=%v", tc.reset, tc.first, tc.later, ok, tc.carried)
		}
		if tc.carried && tc.reset != governance.ResetNever && (st.RetryAfter <= 0 || st.RetryAfter != st.Reset) {
			t.Errorf("%s: RetryAfter %v, Reset %v", tc.reset, st.RetryAfter, st.Reset)
		}
		if tc.carried && (st.Used != 10 || st.Remaining != 0 || st.Limit != 10) {
			t.Errorf("%s: status %+v", tc.reset, st)
		}
	}
}

func periodAdjustAcrossReset(t *testing.T, f Factory) {
	c := f.Period(t, governance.ResetDay)
	day := int64(24 * time.Hour)
	t0 := int64(20000) * day
	_, win, _ := c.Reserve(t0+day-1, 100, 1000)
	// The response finishes after midnight: the estimate vanished with the reset; the actual cost lands today.
	c.Adjust(t0+day+1, win, 30-100)
	if st := c.Peek(t0+day+1, 1000); st.Used != 0 {
		t.Fatalf("negative delta across a reset must be dropped, used=%d", st.Used)
	}
	_, win, _ = c.Reserve(t0+day-1, 100, 1000) // stale clock: counted in the live period
	c.Adjust(t0+day+2, win, -70)
	if st := c.Peek(t0+day+2, 1000); st.Used != 30 {
		t.Fatalf("used %d, want 30", st.Used)
	}
	c.Adjust(t0+day+3, win-day, 5) // a positive delta for a period gone is charged to the live one
	if st := c.Peek(t0+day+3, 1000); st.Used != 35 {
		t.Fatalf("used %d, want 35", st.Used)
	}
}

// hugeAmountNeverWraps: an amount near the int64 limit must be refused, not wrap usage+amount negative and pass
// the limit check (a max_tokens of 1e20 once did).
func hugeAmountNeverWraps(t *testing.T, f Factory) {
	now := int64(1000) * minute
	for name, c := range map[string]governance.Counter{"window": f.Window(t, time.Minute), "period": f.Period(t, governance.ResetDay)} {
		if ok, _, _ := c.Reserve(now, 1, 100); !ok {
			t.Fatalf("%s: the first unit was refused", name)
		}
		for _, n := range []int64{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 - 50} {
			if ok, _, st := c.Reserve(now, n, 100); ok {
				t.Errorf("%s: reserved %d against a limit of 100 (used %d)", name, n, st.Used)
			}
		}
	}
}

// adjustSaturates: a settled cost may be pricing's saturated maximum; counts hold at their ceiling, never wrap.
func adjustSaturates(t *testing.T, f Factory) {
	now := int64(3000) * minute
	p := f.Period(t, governance.ResetDay)
	_, win, _ := p.Reserve(now, 10, 100)
	p.Adjust(now, win, math.MaxInt64)
	p.Adjust(now, win, math.MaxInt64)
	if st := p.Peek(now, 100); st.Used != math.MaxInt64 || st.Remaining != 0 {
		t.Fatalf("period after huge settles: %+v, want Used MaxInt64", st)
	}
	if ok, _, _ := p.Reserve(now, 1, math.MaxInt64); ok {
		t.Fatal("a saturated period admitted more")
	}
	w := f.Window(t, time.Minute)
	_, win, _ = w.Reserve(now, 10, 100)
	w.Adjust(now, win, math.MaxInt64)
	if st := w.Peek(now, 100); st.Used != governance.MaxWindowCount {
		t.Fatalf("window after a huge settle: used %d, want %d", st.Used, governance.MaxWindowCount)
	}
	w.Adjust(now, win, math.MinInt64)
	if st := w.Peek(now, 100); st.Used != 0 {
		t.Fatalf("window after a huge release: used %d, want 0", st.Used)
	}
}
