package governance

import (
	"math"
	"testing"
	"time"
)

func TestSlidingWindow(t *testing.T) {
	const min = int64(time.Minute)
	base := int64(1000) * min // a window boundary
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
			{min + min/2, 5, true, 10},
			{min + min/2, 1, false, 10},
			// at 2.9 windows: prev (5) × 0.1 = ceil(0.5) = 1
			{2*min + 9*min/10, 9, true, 10},
		}},
		{"two windows later everything is gone", 2, []step{
			{0, 2, true, 2}, {2 * min, 2, true, 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewSlidingWindow(time.Minute)
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

func TestSlidingWindowRetryAfterIsEnough(t *testing.T) {
	const min = int64(time.Minute)
	base := int64(500) * min
	w := NewSlidingWindow(time.Minute)
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

func TestSlidingWindowAdjust(t *testing.T) {
	const min = int64(time.Minute)
	base := int64(7) * min
	w := NewSlidingWindow(time.Minute)
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
	w.Adjust(base+3*min, win, -100) // window long gone: dropped
	w.Adjust(base+3*min, win, 50)   // extra actuals land in the current window
	if st := w.Peek(base+3*min, 1000); st.Used != 50 {
		t.Fatalf("used %d, want 50", st.Used)
	}
}

func TestSlidingWindowRemote(t *testing.T) {
	const min = int64(time.Minute)
	base := int64(9) * min
	w := NewSlidingWindow(time.Minute)
	w.SetRemote(base, Slot{Start: time.Unix(0, base), Count: 8})
	if ok, _, _ := w.Reserve(base, 3, 10); ok {
		t.Fatal("remote count ignored")
	}
	if ok, _, _ := w.Reserve(base, 2, 10); !ok {
		t.Fatal("refused within limit")
	}
	sl := w.Local(base)
	if len(sl) != 1 || sl[0].Count != 2 {
		t.Fatalf("Local = %+v (remote counts must not be reported as local)", sl)
	}
}

func TestPeriodCounterResets(t *testing.T) {
	d := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	for _, tc := range []struct {
		reset        Reset
		first, later string
		carried      bool // usage from first still counts at later
	}{
		{ResetMinute, "2026-06-17T10:00:59Z", "2026-06-17T10:01:00Z", false},
		{ResetHour, "2026-06-17T10:00:00Z", "2026-06-17T10:59:59Z", true},
		{ResetHour, "2026-06-17T10:59:59Z", "2026-06-17T11:00:00Z", false},
		{ResetDay, "2026-06-17T00:00:00Z", "2026-06-17T23:59:59Z", true},
		{ResetDay, "2026-06-17T23:59:59Z", "2026-06-18T00:00:00Z", false},
		{ResetWeek, "2026-06-15T00:00:00Z", "2026-06-21T23:59:59Z", true}, // Monday .. Sunday
		{ResetWeek, "2026-06-21T23:59:59Z", "2026-06-22T00:00:00Z", false},
		{ResetMonth, "2026-02-01T00:00:00Z", "2026-02-28T23:59:59Z", true},
		{ResetMonth, "2026-02-28T23:59:59Z", "2026-03-01T00:00:00Z", false},
		{ResetNever, "2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z", true},
	} {
		c := NewPeriodCounter(tc.reset)
		if ok, _, _ := c.Reserve(d(tc.first), 10, 10); !ok {
			t.Fatalf("%s: first reserve refused", tc.reset)
		}
		ok, _, st := c.Reserve(d(tc.later), 1, 10)
		if ok == tc.carried {
			t.Errorf("%s %s→%s: admitted=%v, want carried=%v", tc.reset, tc.first, tc.later, ok, tc.carried)
		}
		if tc.carried && tc.reset != ResetNever && (st.RetryAfter <= 0 || st.RetryAfter != st.Reset) {
			t.Errorf("%s: RetryAfter %v, Reset %v", tc.reset, st.RetryAfter, st.Reset)
		}
	}
}

func TestPeriodCounterAdjustAcrossReset(t *testing.T) {
	c := NewPeriodCounter(ResetDay)
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
}

// TestReserveHugeAmountNeverWraps: an amount near the int64 limit must be refused, not wrap usage+amount
// negative and pass the limit check (a max_tokens of 1e20 once did).
func TestReserveHugeAmountNeverWraps(t *testing.T) {
	now := int64(1000) * int64(time.Minute)
	for name, c := range map[string]Counter{"window": NewSlidingWindow(time.Minute), "period": NewPeriodCounter(ResetDay)} {
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
