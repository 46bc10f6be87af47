package governance

import (
	"sync/atomic"
	"time"
)

// Leasable is a Counter that can admit from a lease: a number of units another node (the counter's owner in
// cluster ring mode) has granted this one for a window. While leased, Reserve takes from the lease instead of
// checking the local view, and refuses when the lease is short; the local view (local + remote counts) is
// still kept and reported by Peek and in every Status, so usage and the x-ratelimit headers stay cluster-wide.
type Leasable interface {
	Counter
	// SetLeased switches lease admission on or off. Off, the lease is kept but not used.
	SetLeased(on bool)
	// Leased reports whether admission takes from the lease.
	Leased() bool
	// LeaseWindow is the start (Unix ns) of the window or period a lease made now belongs to.
	LeaseWindow(now int64) int64
	// AddLease adds n units for the window starting at start; a lease held for another window is replaced.
	AddLease(start, n int64)
	// LeaseLeft reports the units left for the window starting at start.
	LeaseLeft(start int64) int64
	// DrainLease takes every unit left for the window starting at start (0 when the lease is for another).
	DrainLease(start int64) int64
}

// Lender tops up a leased counter: admission calls Borrow after a leased counter refused, then retries once.
// Borrow waits at most its own short timeout; true means "retry" (units arrived, or the counter was switched
// to its local view because the owner did not answer).
type Lender interface {
	Borrow(c Counter, now, n, limit int64) bool
}

type lenderBox struct{ l Lender }

// SetLender installs the cluster layer's lender (nil removes it). Only refused requests consult it.
func (s *Service) SetLender(l Lender) {
	if l == nil {
		s.lender.Store(nil)
		return
	}
	s.lender.Store(&lenderBox{l})
}

// borrow asks the lender to top up a leased counter that refused n; only leased counters are asked.
func (s *Service) borrow(c Counter, now, n, limit int64) bool {
	b := s.lender.Load()
	if b == nil {
		return false
	}
	if lc, ok := c.(Leasable); !ok || !lc.Leased() {
		return false
	}
	return b.l.Borrow(c, now, n, limit)
}

// lease is one atomic word packing a window tag (low 24 bits of the window's index) and the units left
// (40 bits), so taking from it is one CompareAndSwap, and a lease for an ended window reads as empty.
type lease struct {
	on atomic.Bool
	v  atomic.Uint64
}

func (l *lease) left(tag int64) int64 { return countAt(l.v.Load(), tag) }

// take removes n units if the lease for tag holds them.
func (l *lease) take(tag, n int64) bool {
	for {
		old := l.v.Load()
		left := countAt(old, tag)
		if n > left {
			return false
		}
		if l.v.CompareAndSwap(old, pack(tag, left-n)) {
			return true
		}
	}
}

func (l *lease) add(tag, n int64) {
	for {
		old := l.v.Load()
		next := min(max(addSat(countAt(old, tag), n), 0), countMask)
		if l.v.CompareAndSwap(old, pack(tag, next)) {
			return
		}
	}
}

func (l *lease) drain(tag int64) int64 {
	for {
		old := l.v.Load()
		left := countAt(old, tag)
		if left == 0 || l.v.CompareAndSwap(old, pack(tag, 0)) {
			return left
		}
	}
}

// SetLeased implements Leasable.
func (w *SlidingWindow) SetLeased(on bool) { w.ls.on.Store(on) }

// Leased implements Leasable.
func (w *SlidingWindow) Leased() bool { return w.ls.on.Load() }

// LeaseWindow implements Leasable.
func (w *SlidingWindow) LeaseWindow(now int64) int64 { return now / w.width * w.width }

// AddLease implements Leasable.
func (w *SlidingWindow) AddLease(start, n int64) { w.ls.add(start/w.width, n) }

// LeaseLeft implements Leasable.
func (w *SlidingWindow) LeaseLeft(start int64) int64 { return w.ls.left(start / w.width) }

// DrainLease implements Leasable.
func (w *SlidingWindow) DrainLease(start int64) int64 { return w.ls.drain(start / w.width) }

// reserveLeased admits n from the lease for the current window and counts it locally; the returned Status is
// the local view's. On refusal the retry hint is the view's, or a second when the view has room (the owner
// holds it: a retry may get a lease).
//
// The unit is counted locally before it is taken from the lease (and uncounted if the lease is short), so
// reading the lease and then the local count — the charge the cluster layer reports to the owner — may count
// an admission in flight twice but never misses it (TestLeaseChargeNeverMissesAnAdmission).
func (w *SlidingWindow) reserveLeased(now int64, n, limit int64) (bool, int64, Status) {
	idx := now / w.width
	slot := &w.local[idx&1]
	var added int64
	for {
		old := slot.Load()
		cur := countAt(old, idx)
		next := min(cur+n, countMask)
		if slot.CompareAndSwap(old, pack(idx, next)) {
			added = next - cur
			break
		}
	}
	ok := w.ls.take(idx, n)
	if !ok {
		for {
			old := slot.Load()
			if slot.CompareAndSwap(old, pack(idx, max(countAt(old, idx)-added, 0))) {
				break
			}
		}
	}
	// Bumped on a refusal too: the cluster layer may have read the count in between and must read it again.
	w.gen.Add(1)
	if ok {
		w.dirty.Store(true)
	}
	st := w.Peek(now, limit)
	if !ok {
		st.RetryAfter = leaseRetry(st, n)
	}
	return ok, idx, st
}

// leaseRetry is the retry hint for a leased counter's refusal.
func leaseRetry(st Status, n int64) time.Duration {
	if n > st.Limit {
		return 0
	}
	if st.Remaining >= n {
		return time.Second
	}
	if st.Reset > 0 {
		return st.Reset
	}
	return time.Second
}

// SetLeased implements Leasable.
func (c *PeriodCounter) SetLeased(on bool) { c.ls.on.Store(on) }

// Leased implements Leasable.
func (c *PeriodCounter) Leased() bool { return c.ls.on.Load() }

// LeaseWindow implements Leasable.
func (c *PeriodCounter) LeaseWindow(now int64) int64 { return c.period(now) }

// periodTag names a period in a lease word: periods start on distinct seconds.
func periodTag(start int64) int64 { return start / 1e9 }

// AddLease implements Leasable.
func (c *PeriodCounter) AddLease(start, n int64) { c.ls.add(periodTag(start), n) }

// LeaseLeft implements Leasable.
func (c *PeriodCounter) LeaseLeft(start int64) int64 { return c.ls.left(periodTag(start)) }

// DrainLease implements Leasable.
func (c *PeriodCounter) DrainLease(start int64) int64 { return c.ls.drain(periodTag(start)) }

// reserveLeased: see SlidingWindow.reserveLeased (counted locally first, uncounted if the lease is short).
func (c *PeriodCounter) reserveLeased(now int64, n, limit int64) (bool, int64, Status) {
	s := c.period(now)
	var added int64
	for {
		v := c.value.Load()
		next := addSat(v, n)
		if c.value.CompareAndSwap(v, next) {
			added = next - v
			break
		}
	}
	ok := c.ls.take(periodTag(s), n)
	if !ok {
		for {
			v := c.value.Load()
			if c.value.CompareAndSwap(v, max(v-added, 0)) {
				break
			}
		}
	}
	c.gen.Add(1)
	if ok {
		c.dirty.Store(true)
	}
	st := c.Peek(now, limit)
	if !ok {
		st.RetryAfter = leaseRetry(st, n)
	}
	return ok, s, st
}

var (
	_ Leasable = (*SlidingWindow)(nil)
	_ Leasable = (*PeriodCounter)(nil)
)
