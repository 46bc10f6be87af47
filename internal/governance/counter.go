package governance

import (
	"math"
	"time"
)

// Counter is the usage of one (subject, limit, window) — e.g. "virtual key ci-bot, requests per minute".
//
// Admission calls Reserve, which checks and adds in one atomic step (a CAS loop), so concurrent requests can
// never jointly overshoot a limit: the race LiteLLM has (read, compare, then increment later) and the
// fixed-window-counted-after-the-response flaw Bifrost has (every in-flight request passes) are both closed.
//
// Limits are passed per call rather than held by the counter, so an admin edit of a limit takes effect at
// once without losing the usage already counted.
//
// Cluster hook: Local reports this node's own counts per window and SetRemote folds in the sum of other nodes'
// counts for a window; Reserve compares local+remote against the limit. A gossip layer only has to move Slots.
type Counter interface {
	// Reserve adds n if usage+n stays within limit and reports the window or period it was added to (pass it
	// back to Adjust). On refusal nothing is added and Status says when to retry.
	Reserve(now int64, n, limit int64) (ok bool, window int64, st Status)
	// Adjust corrects a reservation made in window by delta (settle to actuals, or release). A negative delta
	// for a window that has already rolled away is dropped; a positive one is charged to the current window.
	Adjust(now int64, window int64, delta int64)
	// Peek reports usage without changing it.
	Peek(now int64, limit int64) Status
	// Local lists this node's non-zero counts for the windows still in play, for persistence and gossip.
	Local(now int64) []Slot
	// Restore sets this node's count for a window (loading persisted counters at start).
	Restore(now int64, s Slot)
	// SetRemote sets the other nodes' combined count for a window.
	SetRemote(now int64, s Slot)
	// TakeDirty reports whether the counter changed since the last call, and clears the mark.
	TakeDirty() bool
}

// Slot is a count for the window (or budget period) starting at Start.
type Slot struct {
	Start time.Time
	Count int64
}

// Status is a counter's state against its limit, as the x-ratelimit-* headers want it.
type Status struct {
	Limit     int64
	Used      int64
	Remaining int64
	// Reset is the time until the window or period rolls over.
	Reset time.Duration
	// RetryAfter, on refusal, is the earliest time the refused amount could fit (0 when it never will).
	RetryAfter time.Duration
}

// addSat is a+b held within int64: a settled cost may be as large as pricing's saturated MaxMoney.
func addSat(a, b int64) int64 {
	c := a + b
	switch {
	case b > 0 && c < a:
		return math.MaxInt64
	case b < 0 && c > a:
		return math.MinInt64
	}
	return c
}
