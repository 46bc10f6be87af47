package governance

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// SlidingWindow is a two-bucket approximated sliding window (the Cloudflare/nginx technique): usage is
// current-window count + previous-window count × the fraction of the previous window still inside the sliding
// span. It smooths the burst-at-the-boundary a fixed window allows (2× the limit across a minute edge) at the
// cost of two words per counter.
//
// Each bucket is one atomic uint64 packing the window index (low 24 bits) and the count (40 bits, so up to
// ~1.1e12 tokens per window), which lets the check and the add be one CompareAndSwap with no lock and no
// allocation. A bucket whose index is stale reads as empty, so rollover needs no timer.
type SlidingWindow struct {
	width  int64 // window width in nanoseconds
	local  [2]atomic.Uint64
	remote [2]atomic.Uint64
	dirty  atomic.Bool
	gen    atomic.Uint64 // bumped on every local change, for the cluster layer (see Generation)
	ls     lease         // units granted by the counter's owner (cluster ring mode; see Leasable)
}

const (
	countBits = 40
	countMask = 1<<countBits - 1
	epochMask = 1<<(64-countBits) - 1
	// MaxWindowCount is the largest limit a sliding window can count to.
	MaxWindowCount = countMask
)

// NewSlidingWindow makes a counter for windows of the given width (a minute, an hour, a day).
func NewSlidingWindow(width time.Duration) *SlidingWindow {
	return &SlidingWindow{width: int64(width)}
}

func pack(idx, count int64) uint64 {
	return uint64(idx)&epochMask<<countBits | uint64(count)&countMask
}

// countAt returns the count a bucket holds for window idx, or 0 if it holds another window.
func countAt(v uint64, idx int64) int64 {
	if v>>countBits != uint64(idx)&epochMask {
		return 0
	}
	return int64(v & countMask)
}

// weighted is ceil(prev × remaining/width): the previous window's share still inside the sliding span,
// rounded up so the approximation errs towards refusing. 128-bit intermediate: prev × width can pass 2^63.
func weighted(prev, remaining, width int64) int64 {
	if prev <= 0 || remaining <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(prev), uint64(remaining))
	q, r := bits.Div64(hi, lo, uint64(width))
	if r != 0 {
		q++
	}
	return int64(q)
}

// Reserve implements Counter.
func (w *SlidingWindow) Reserve(now int64, n, limit int64) (bool, int64, Status) {
	if w.ls.on.Load() {
		return w.reserveLeased(now, n, limit)
	}
	idx, elapsed := now/w.width, now%w.width
	remaining := w.width - elapsed
	prev := countAt(w.local[(idx-1)&1].Load(), idx-1) + countAt(w.remote[(idx-1)&1].Load(), idx-1)
	prevPart := weighted(prev, remaining, w.width)
	remoteCur := countAt(w.remote[idx&1].Load(), idx)
	slot := &w.local[idx&1]
	for {
		old := slot.Load()
		cur := countAt(old, idx)
		used := prevPart + cur + remoteCur
		// Compared as room left, not used+n: a huge n (a max_tokens of 1e20) would wrap the sum and pass.
		if n > limit-used || n > countMask-cur {
			st := Status{Limit: limit, Used: used, Remaining: max(limit-used, 0), Reset: time.Duration(remaining)}
			st.RetryAfter = windowRetryAfter(w.width, n, limit, prev, cur+remoteCur, elapsed)
			return false, idx, st
		}
		if slot.CompareAndSwap(old, pack(idx, cur+n)) {
			w.dirty.Store(true)
			w.gen.Add(1)
			used += n
			return true, idx, Status{Limit: limit, Used: used, Remaining: limit - used, Reset: time.Duration(remaining)}
		}
	}
}

// retryAfter is how long until n fits, assuming nothing else is added meanwhile: first while the previous
// window's share decays through the current window, then, if the current count alone is too high, while the
// current window decays through the next. Returns 0 if n exceeds the limit outright (it never fits).
func windowRetryAfter(width, n, limit, prev, cur, elapsed int64) time.Duration {
	if n > limit {
		return 0
	}
	room := limit - n - cur // what the previous window's share may still be
	if room >= 0 {
		// Need prev × (width−e')/width ≤ room  ⇒  e' ≥ width × (1 − room/prev).
		if prev == 0 {
			return time.Nanosecond
		}
		need := width - mulDiv(room, width, prev)
		return time.Duration(max(need-elapsed, 1))
	}
	// Wait for the next window, then for cur (then "previous") to decay to limit−n.
	room = limit - n
	need := width - mulDiv(room, width, cur)
	return time.Duration(width - elapsed + max(need, 1))
}

func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return b
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// WindowStatus is the Status of a sliding window of width (ns) at now whose previous and current windows hold
// prev and cur before a reservation of n that was admitted (ok) or refused — for counters kept outside the
// process (Redis), so they answer exactly as SlidingWindow does. Peek is n = 0, ok.
func WindowStatus(width, now, n, limit, prev, cur int64, ok bool) Status {
	elapsed := now % width
	remaining := width - elapsed
	used := weighted(prev, remaining, width) + cur
	st := Status{Limit: limit, Reset: time.Duration(remaining)}
	if ok {
		used = addSat(used, n)
	} else {
		st.RetryAfter = windowRetryAfter(width, n, limit, prev, cur, elapsed)
	}
	st.Used, st.Remaining = used, max(limit-used, 0)
	return st
}

// Adjust implements Counter.
func (w *SlidingWindow) Adjust(now int64, window int64, delta int64) {
	if delta == 0 {
		return
	}
	idx := now / w.width
	if window != idx && window != idx-1 {
		if delta < 0 {
			return
		}
		window = idx
	}
	slot := &w.local[window&1]
	for {
		old := slot.Load()
		if window < idx && old>>countBits != uint64(window)&epochMask {
			return // the previous window's bucket was never written; nothing to correct
		}
		cur := countAt(old, window)
		next := min(max(addSat(cur, delta), 0), countMask)
		if slot.CompareAndSwap(old, pack(window, next)) {
			w.dirty.Store(true)
			w.gen.Add(1)
			return
		}
	}
}

// Peek implements Counter.
func (w *SlidingWindow) Peek(now int64, limit int64) Status {
	idx, elapsed := now/w.width, now%w.width
	remaining := w.width - elapsed
	prev := countAt(w.local[(idx-1)&1].Load(), idx-1) + countAt(w.remote[(idx-1)&1].Load(), idx-1)
	used := weighted(prev, remaining, w.width) + countAt(w.local[idx&1].Load(), idx) + countAt(w.remote[idx&1].Load(), idx)
	return Status{Limit: limit, Used: used, Remaining: max(limit-used, 0), Reset: time.Duration(remaining)}
}

// Local implements Counter.
func (w *SlidingWindow) Local(now int64) []Slot {
	idx := now / w.width
	var out []Slot
	for _, i := range [2]int64{idx - 1, idx} {
		// The current window is always reported (even at 0) so a release back to zero reaches the store.
		if c := countAt(w.local[i&1].Load(), i); c > 0 || i == idx {
			out = append(out, Slot{Start: time.Unix(0, i*w.width).UTC(), Count: c})
		}
	}
	return out
}

// Restore implements Counter.
func (w *SlidingWindow) Restore(now int64, s Slot) { w.set(&w.local, now, s) }

// SetRemote implements Counter.
func (w *SlidingWindow) SetRemote(now int64, s Slot) { w.set(&w.remote, now, s) }

func (w *SlidingWindow) set(b *[2]atomic.Uint64, now int64, s Slot) {
	start := s.Start.UnixNano()
	if start%w.width != 0 {
		return // not a window of this width (a limit's window changed since it was saved)
	}
	i := start / w.width
	if idx := now / w.width; i != idx && i != idx-1 {
		return
	}
	b[i&1].Store(pack(i, min(max(s.Count, 0), countMask)))
}

// TakeDirty implements Counter.
func (w *SlidingWindow) TakeDirty() bool { return w.dirty.Swap(false) }

// Generation changes whenever this node's own counts change (a cluster layer polls it to find what to gossip;
// unlike TakeDirty it does not clear anything the persistence flusher relies on).
func (w *SlidingWindow) Generation() uint64 { return w.gen.Load() }
