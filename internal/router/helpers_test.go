package router

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// clock is an injected, manually advanced clock: tests never sleep.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func seeded(seed uint64) *rand.Rand      { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
func targets(c *clock, keys ...string) []*TargetState {
	out := make([]*TargetState, len(keys))
	for i, k := range keys {
		p, m, _ := splitTarget(k)
		out[i] = newTargetState(p, m, DefaultBreaker, c.Now)
	}
	return out
}

// fail / succeed report one finished non-probe request.
func fail(t *TargetState, status int)            { t.Begin(); t.End(0, false, status, 0) }
func succeed(t *TargetState, ttfb time.Duration) { t.Begin(); t.End(ttfb, true, 200, 0) }
