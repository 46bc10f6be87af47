package router

import (
	"sync/atomic"
	"time"
)

// BreakerState is a circuit breaker's state.
type BreakerState uint8

const (
	Closed   BreakerState = iota // traffic flows
	Open                         // traffic skips the target until the cooldown ends
	HalfOpen                     // one probe is in flight; its outcome closes or reopens
)

func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	}
	return "unknown"
}

// The state and its deadline share one atomic word so every transition is a single CAS: two callers can
// never both see "cooldown over" and both become the probe. Top 2 bits: state. Low 62: unix nanos
// (good until year 2116) — for Open the end of the cooldown, for HalfOpen the end of the probe's lease.
const (
	stateShift = 62
	timeMask   = 1<<stateShift - 1
)

func pack(s BreakerState, until int64) uint64 {
	until = min(max(until, 0), timeMask)
	return uint64(s)<<stateShift | uint64(until)&timeMask
}

func unpack(w uint64) (BreakerState, int64) {
	return BreakerState(w >> stateShift), int64(w & timeMask)
}

// Sliding window: windowBuckets buckets of Window/windowBuckets each, every bucket one atomic word
// holding its epoch (bucket number, truncated) and its success and failure counts, so recording is a
// lock-free CAS loop and a stale bucket is reset by the same CAS that counts into it.
const (
	windowBuckets = 10
	epochBits     = 24
	countBits     = 20
	countMax      = 1<<countBits - 1
	epochMask     = 1<<epochBits - 1
)

// breaker is a lock-free circuit breaker. The zero value is closed; cfg must be set before use.
type breaker struct {
	word        atomic.Uint64
	consecutive atomic.Int64
	buckets     [windowBuckets]atomic.Uint64
	cfg         atomic.Pointer[BreakerConfig] // normalized; swapped on config reload
}

func (b *breaker) config() *BreakerConfig { return b.cfg.Load() }

// allow reports whether a request may go to the target at time now, and whether it is the half-open
// probe (whose outcome decides the state). Closed costs one atomic load.
func (b *breaker) allow(now int64) (ok, probe bool) {
	for {
		w := b.word.Load()
		st, until := unpack(w)
		if st == Closed {
			return true, false
		}
		if now < until {
			return false, false // open and cooling down, or a probe's lease still running
		}
		// Cooldown over (or a probe never reported back and its lease ran out): exactly one caller
		// wins this CAS and becomes the probe. The lease bounds how long a lost probe blocks the target.
		if b.word.CompareAndSwap(w, pack(HalfOpen, now+int64(b.config().Duration))) {
			return true, true
		}
	}
}

// openUntil reports when an open breaker lets a probe through (0 when closed).
func (b *breaker) openUntil() int64 {
	st, until := unpack(b.word.Load())
	if st == Closed {
		return 0
	}
	return until
}

// trip opens the breaker until the given time, from any state.
func (b *breaker) trip(until int64) {
	b.word.Store(pack(Open, until))
	b.consecutive.Store(0)
}

// record feeds one outcome. fault is a provider failure; probe marks the half-open probe's outcome,
// the only one allowed to move HalfOpen (results of requests started before the breaker opened are
// counted but do not decide the probe).
func (b *breaker) record(now int64, fault, probe bool) {
	cfg := b.config()
	b.count(now, cfg, fault)
	w := b.word.Load()
	st, _ := unpack(w)
	if !fault {
		b.consecutive.Store(0)
		// A probe's success closes the breaker — also a forced probe sent while still Open.
		if probe && st != Closed && b.word.CompareAndSwap(w, pack(Closed, 0)) {
			b.resetWindow() // old failures must not re-trip the ratio right after recovery
		}
		return
	}
	n := b.consecutive.Add(1)
	switch st {
	case HalfOpen:
		if probe && b.word.CompareAndSwap(w, pack(Open, now+int64(cfg.Duration))) {
			b.consecutive.Store(0)
		}
	case Closed:
		if n >= int64(cfg.Failures) || b.ratioExceeded(now, cfg) {
			if b.word.CompareAndSwap(w, pack(Open, now+int64(cfg.Duration))) {
				b.consecutive.Store(0)
			}
		}
	}
}

// release gives back a probe that was never sent (the client went away): the next caller may probe.
func (b *breaker) release(now int64) {
	w := b.word.Load()
	if st, _ := unpack(w); st == HalfOpen {
		b.word.CompareAndSwap(w, pack(HalfOpen, now))
	}
}

func (b *breaker) bucketOf(now int64, cfg *BreakerConfig) uint64 {
	width := int64(cfg.Window) / windowBuckets
	if width <= 0 {
		width = 1
	}
	return uint64(now/width) & epochMask
}

func (b *breaker) count(now int64, cfg *BreakerConfig, fault bool) {
	e := b.bucketOf(now, cfg)
	slot := &b.buckets[e%windowBuckets]
	for {
		old := slot.Load()
		oe, s, f := old>>(2*countBits), old>>countBits&countMax, old&countMax
		if oe != e {
			s, f = 0, 0
		}
		if fault {
			f = min(f+1, countMax)
		} else {
			s = min(s+1, countMax)
		}
		if slot.CompareAndSwap(old, e<<(2*countBits)|s<<countBits|f) {
			return
		}
	}
}

// windowCounts sums the buckets that belong to the current window.
func (b *breaker) windowCounts(now int64, cfg *BreakerConfig) (total, failures int) {
	e := b.bucketOf(now, cfg)
	for i := range b.buckets {
		v := b.buckets[i].Load()
		if v == 0 {
			continue
		}
		if age := (e - v>>(2*countBits)) & epochMask; age >= windowBuckets {
			continue
		}
		s, f := int(v>>countBits&countMax), int(v&countMax)
		total += s + f
		failures += f
	}
	return total, failures
}

func (b *breaker) ratioExceeded(now int64, cfg *BreakerConfig) bool {
	total, failures := b.windowCounts(now, cfg)
	return total >= cfg.MinRequests && float64(failures) >= cfg.Ratio*float64(total)
}

func (b *breaker) resetWindow() {
	for i := range b.buckets {
		b.buckets[i].Store(0)
	}
}

// providerFault says whether an unsuccessful answer is the provider's fault and so counts against its
// breaker. Client errors (400, 404, 413, 422, context too long) prove the provider is up.
func providerFault(ok bool, status int) bool {
	if ok {
		return false
	}
	switch {
	case status == 0: // no answer: connection error, timeout
		return true
	case status == 401, status == 403: // a bad key for this target: route around it
		return true
	case status == 408, status == 429:
		return true
	case status >= 500:
		return true
	}
	return false
}

func nanos(t time.Time) int64 { return t.UnixNano() }
