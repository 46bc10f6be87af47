package rediscounter

import (
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
)

// localFlag marks a window or period a reservation took from the in-memory fallback (Redis was unreachable),
// so its Adjust goes there too. Window indexes and period starts (Unix ns, until 2116) never reach this bit.
const localFlag = int64(1) << 62

// keySlack keeps a key a little past the end of its use, for clock skew between replicas.
const keySlack = int64(time.Minute)

// counter is a Redis counter: its keys' common part and its in-memory fallback.
type counter interface {
	governance.Counter
	fallback() governance.Counter
}

// window is a sliding window kept in Redis: one key per window, "{prefix}subject|metric|index", expiring once
// it can no longer weigh (two windows after its start).
type window struct {
	st       *Store
	base     string
	width    int64
	widthArg any // width, boxed once for the script's arguments
	local    *governance.SlidingWindow
	keys     atomic.Pointer[windowKeys] // the current window's keys, made once per window
}

type windowKeys struct {
	idx       int64
	cur, prev string
}

// period is a budget period kept in Redis: one key per period, "{prefix}subject|metric|start", expiring a
// little after the period ends (never, for a budget that never resets).
type period struct {
	st    *Store
	base  string
	reset governance.Reset
	local *governance.PeriodCounter
	live  atomic.Int64 // the latest period start this replica has used: a caller with a stale clock counts in it

	keyCache atomic.Pointer[periodKey]
}

// start is the period now falls in, or the live one if a caller's clock is behind another's (as PeriodCounter).
func (p *period) start(now int64) int64 {
	s, _ := p.reset.Bounds(now)
	for {
		live := p.live.Load()
		if s <= live {
			return live
		}
		if p.live.CompareAndSwap(live, s) {
			return s
		}
	}
}

func (w *window) fallback() governance.Counter { return w.local }
func (p *period) fallback() governance.Counter { return p.local }

func (w *window) key(idx int64) string {
	if k := w.keys.Load(); k != nil {
		switch idx {
		case k.idx:
			return k.cur
		case k.idx - 1:
			return k.prev
		}
	}
	return w.base + strconv.FormatInt(idx, 10)
}

// keyPair is window idx's key and the previous window's, cached for the window's life.
func (w *window) keyPair(idx int64) (cur, prev string) {
	k := w.keys.Load()
	if k == nil || k.idx != idx {
		k = &windowKeys{idx: idx, cur: w.base + strconv.FormatInt(idx, 10), prev: w.base + strconv.FormatInt(idx-1, 10)}
		w.keys.Store(k)
	}
	return k.cur, k.prev
}

// key is period start's key, cached for the period's life.
func (p *period) key(start int64) string {
	if k := p.keyCache.Load(); k != nil && k.start == start {
		return k.key
	}
	k := &periodKey{start: start, key: p.base + strconv.FormatInt(start, 10)}
	p.keyCache.Store(k)
	return k.key
}

type periodKey struct {
	start int64
	key   string
}

// ttl of window idx's key at now, in ms: it weighs until the end of the next window.
func (w *window) ttl(now, idx int64) int64 {
	return max((idx+2)*w.width-now+keySlack, 1) / int64(time.Millisecond)
}

func (p *period) ttl(now, start int64) int64 {
	_, end := p.reset.Bounds(start)
	if end == math.MaxInt64 {
		return 0
	}
	return max(end-now+keySlack, 1) / int64(time.Millisecond)
}

// Reserve implements governance.Counter (admission uses the store's ReserveAll; this is one item of it).
func (w *window) Reserve(now int64, n, limit int64) (bool, int64, governance.Status) {
	return reserveOne(w.st, w, now, n, limit)
}

func (p *period) Reserve(now int64, n, limit int64) (bool, int64, governance.Status) {
	return reserveOne(p.st, p, now, n, limit)
}

func reserveOne(st *Store, c governance.Counter, now, n, limit int64) (bool, int64, governance.Status) {
	items := []governance.BatchItem{{Counter: c, N: n, Limit: limit}}
	refused, err := st.ReserveAll(now, items)
	if err != nil {
		return false, 0, governance.Status{Limit: limit, RetryAfter: time.Second}
	}
	return refused < 0, items[0].Window, items[0].Status
}

// Adjust implements governance.Counter.
func (w *window) Adjust(now int64, win int64, delta int64) {
	w.st.AdjustAll(now, []governance.BatchItem{{Counter: w, N: delta, Window: win}})
}

func (p *period) Adjust(now int64, win int64, delta int64) {
	p.st.AdjustAll(now, []governance.BatchItem{{Counter: p, N: delta, Window: win}})
}

// Peek implements governance.Counter: one MGET (the in-memory fallback's view while Redis is unreachable).
func (w *window) Peek(now int64, limit int64) governance.Status {
	idx := now / w.width
	v, ok := w.st.get(w.key(idx), w.key(idx-1))
	if !ok {
		return w.local.Peek(now, limit)
	}
	return governance.WindowStatus(w.width, now, 0, limit, v[1], v[0], true)
}

func (p *period) Peek(now int64, limit int64) governance.Status {
	v, ok := p.st.get(p.key(p.start(now)))
	if !ok {
		return p.local.Peek(now, limit)
	}
	return governance.PeriodStatus(p.reset, now, 0, limit, v[0], true)
}

// The counts live in Redis: nothing for governance to persist, and no gossip to fold in.

// Local implements governance.Counter.
func (w *window) Local(int64) []governance.Slot { return nil }
func (p *period) Local(int64) []governance.Slot { return nil }

// Restore implements governance.Counter.
func (w *window) Restore(int64, governance.Slot) {}
func (p *period) Restore(int64, governance.Slot) {}

// SetRemote implements governance.Counter.
func (w *window) SetRemote(int64, governance.Slot) {}
func (p *period) SetRemote(int64, governance.Slot) {}

// TakeDirty implements governance.Counter.
func (w *window) TakeDirty() bool { return false }
func (p *period) TakeDirty() bool { return false }
