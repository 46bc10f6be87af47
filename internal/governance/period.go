package governance

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Reset is a budget's reset period. Lower-case m is a minute, upper-case M a calendar month.
type Reset string

// Reset periods. Calendar periods are UTC: a day starts at 00:00Z, a week on Monday 00:00Z, a month on the 1st.
const (
	ResetNever  Reset = ""
	ResetMinute Reset = "1m"
	ResetHour   Reset = "1h"
	ResetDay    Reset = "1d"
	ResetWeek   Reset = "1w"
	ResetMonth  Reset = "1M"
)

// ParseReset validates a reset string ("never" is accepted as ResetNever).
func ParseReset(s string) (Reset, error) {
	switch r := Reset(s); r {
	case ResetNever, ResetMinute, ResetHour, ResetDay, ResetWeek, ResetMonth:
		return r, nil
	case "never":
		return ResetNever, nil
	}
	return "", fmt.Errorf("reset %q: want 1m, 1h, 1d, 1w, 1M or never", s)
}

// Bounds returns the [start, end) of the period containing now, in Unix nanoseconds ([0, MaxInt64) for never).
func (r Reset) Bounds(now int64) (int64, int64) {
	t := time.Unix(0, now).UTC()
	var start, end time.Time
	switch r {
	case ResetMinute:
		start = t.Truncate(time.Minute)
		end = start.Add(time.Minute)
	case ResetHour:
		start = t.Truncate(time.Hour)
		end = start.Add(time.Hour)
	case ResetDay:
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 0, 1)
	case ResetWeek:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		start = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // back to Monday
		end = start.AddDate(0, 0, 7)
	case ResetMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	default:
		return 0, math.MaxInt64
	}
	return start.UnixNano(), end.UnixNano()
}

// PeriodCounter counts within calendar periods that reset to zero (budgets). Reserve is a CAS loop on the value;
// the period bounds are cached so the hot path does no calendar arithmetic, and rollover (once per period) takes
// a mutex that the hot path never touches otherwise.
//
// A reservation made just before a rollover is wiped by it; its Adjust then sees another period and charges the
// actual amount to the new one, so money is never lost — it lands in the period where the response finished.
type PeriodCounter struct {
	reset  Reset
	mu     sync.Mutex
	start  atomic.Int64 // period start (Unix ns) the value belongs to
	end    atomic.Int64
	value  atomic.Int64
	remote atomic.Int64 // other nodes' total for remoteStart
	rstart atomic.Int64
	dirty  atomic.Bool
	gen    atomic.Uint64 // bumped on every local change (see Generation)
	ls     lease         // units granted by the counter's owner (cluster ring mode; see Leasable)
}

// NewPeriodCounter makes a counter resetting every r (never, for ResetNever).
func NewPeriodCounter(r Reset) *PeriodCounter {
	c := &PeriodCounter{reset: r}
	c.start.Store(math.MinInt64)
	c.end.Store(math.MinInt64)
	return c
}

// period returns the current period start, rolling over if needed.
func (c *PeriodCounter) period(now int64) int64 {
	if s := c.start.Load(); now >= s && now < c.end.Load() {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, e := c.reset.Bounds(now)
	if cur := c.start.Load(); s > cur {
		// Publish end first; a reader that sees the new start also sees a matching end.
		c.value.Store(0)
		c.end.Store(e)
		c.start.Store(s)
		c.dirty.Store(true)
		c.gen.Add(1)
	} else if s < cur {
		return s // a caller with a stale clock; its period is already gone
	}
	return s
}

func (c *PeriodCounter) remoteFor(start int64) int64 {
	if c.rstart.Load() != start {
		return 0
	}
	return c.remote.Load()
}

// Reserve implements Counter.
func (c *PeriodCounter) Reserve(now int64, n, limit int64) (bool, int64, Status) {
	if c.ls.on.Load() {
		return c.reserveLeased(now, n, limit)
	}
	s := c.period(now)
	rem := c.remoteFor(s)
	for {
		v := c.value.Load()
		if cur := c.start.Load(); cur != s {
			// Rolled over under us (or our clock is behind another goroutine's): count in the live period.
			s, rem = cur, c.remoteFor(cur)
			continue
		}
		used := v + rem
		if n > limit-used { // not used+n > limit, which a huge n wraps
			st := c.status(now, limit, used)
			if n <= limit {
				st.RetryAfter = st.Reset // budgets free up only at the reset
			}
			return false, s, st
		}
		if c.value.CompareAndSwap(v, v+n) {
			c.dirty.Store(true)
			c.gen.Add(1)
			return true, s, c.status(now, limit, used+n)
		}
	}
}

func (c *PeriodCounter) status(now, limit, used int64) Status {
	st := Status{Limit: limit, Used: used, Remaining: max(limit-used, 0)}
	if e := c.end.Load(); e != math.MaxInt64 {
		st.Reset = time.Duration(e - now)
	}
	return st
}

// PeriodStatus is the Status of a budget period of r at now holding used before a reservation of n that was
// admitted (ok) or refused — for counters kept outside the process, so they answer exactly as PeriodCounter does.
func PeriodStatus(r Reset, now, n, limit, used int64, ok bool) Status {
	if ok {
		used = addSat(used, n)
	}
	st := Status{Limit: limit, Used: used, Remaining: max(limit-used, 0)}
	if _, e := r.Bounds(now); e != math.MaxInt64 {
		st.Reset = time.Duration(e - now)
	}
	if !ok && n <= limit {
		st.RetryAfter = st.Reset
	}
	return st
}

// Adjust implements Counter.
func (c *PeriodCounter) Adjust(now int64, window int64, delta int64) {
	if delta == 0 {
		return
	}
	s := c.period(now)
	if window != s && delta < 0 {
		return // the reservation's period is gone, and with it the estimate
	}
	for {
		v := c.value.Load()
		if c.value.CompareAndSwap(v, max(addSat(v, delta), 0)) {
			c.dirty.Store(true)
			c.gen.Add(1)
			return
		}
	}
}

// Peek implements Counter.
func (c *PeriodCounter) Peek(now int64, limit int64) Status {
	s := c.period(now)
	return c.status(now, limit, c.value.Load()+c.remoteFor(s))
}

// Local implements Counter.
func (c *PeriodCounter) Local(now int64) []Slot {
	s := c.period(now)
	return []Slot{{Start: periodTime(s), Count: c.value.Load()}}
}

// Restore implements Counter.
func (c *PeriodCounter) Restore(now int64, sl Slot) {
	if s := c.period(now); startNanos(sl.Start) == s {
		c.value.Store(max(sl.Count, 0))
	}
}

// SetRemote implements Counter.
func (c *PeriodCounter) SetRemote(now int64, sl Slot) {
	c.remote.Store(max(sl.Count, 0))
	c.rstart.Store(startNanos(sl.Start))
}

// TakeDirty implements Counter.
func (c *PeriodCounter) TakeDirty() bool { return c.dirty.Swap(false) }

// Generation changes whenever this node's own count changes (polled by a cluster layer).
func (c *PeriodCounter) Generation() uint64 { return c.gen.Load() }

// A never-resetting period starts at math.MinInt64 in memory and at the Unix epoch when stored.
func periodTime(s int64) time.Time {
	if s == 0 {
		return time.Unix(0, 0).UTC()
	}
	return time.Unix(0, s).UTC()
}

func startNanos(t time.Time) int64 { return t.UnixNano() }
