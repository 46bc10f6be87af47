package governance

import (
	"net/http"
	"strconv"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
)

// CounterStore keeps counters outside the process (Redis), so every replica admits against one shared count.
// With one, admission is a single ReserveAll — every limit of the key, its team and customer checked and
// reserved in one atomic step, all or nothing — and Settle or Release a single AdjustAll.
type CounterStore interface {
	// Window and Period make the counter of subject's metric (a sliding window of width, a budget period).
	Window(subject, metric string, width time.Duration) Counter
	Period(subject, metric string, r Reset) Counter
	// ReserveAll reserves every item's N on its Counter (made by this store) against its Limit, all or nothing,
	// and fills every item's Window and Status. It returns the index of the first refusing item, or -1 when all
	// are reserved. An error means the store could not answer and nothing was reserved (the store fails closed).
	ReserveAll(now int64, items []BatchItem) (int, error)
	// AdjustAll applies every item's N as a delta to the reservation its Window names (see Counter.Adjust).
	AdjustAll(now int64, items []BatchItem)
}

// BatchItem is one counter's part of a ReserveAll or AdjustAll.
type BatchItem struct {
	Counter Counter
	N       int64 // amount to reserve, or delta to adjust by
	Limit   int64
	Window  int64 // out of ReserveAll; in for AdjustAll
	Status  Status
}

func (s *Service) newWindow(subject, metric string, w time.Duration) func() Counter {
	if cs := s.opt.Counters; cs != nil {
		return func() Counter { return cs.Window(subject, metric, w) }
	}
	return func() Counter { return NewSlidingWindow(w) }
}

func (s *Service) newPeriod(subject, metric string, r Reset) func() Counter {
	if cs := s.opt.Counters; cs != nil {
		return func() Counter { return cs.Period(subject, metric, r) }
	}
	return func() Counter { return NewPeriodCounter(r) }
}

// reserveStored is a reservation against a CounterStore: every limit of levels and of the non-nil more in one
// ReserveAll (Admit: the key's, team's and customer's levels and the key's provider limits; AdmitTarget: a
// target's key and provider levels).
func (r *Reservation) reserveStored(cs CounterStore, now, tokens, cost int64, levels []*level, more [2]*level) *Denial {
	for _, lv := range levels {
		r.add(lv, tokens, cost)
	}
	for _, lv := range more {
		if lv != nil {
			r.add(lv, tokens, cost)
		}
	}
	if len(r.batch) == 0 {
		return nil // no limits: no round trip
	}
	refused, err := cs.ReserveAll(now, r.batch)
	if err != nil {
		r.entries = r.entries[:0]
		return &Denial{Status: http.StatusServiceUnavailable, Code: "counter_store_unavailable",
			Message: "rate limits cannot be checked: the counter store is unreachable", RetryAfter: time.Second}
	}
	for i := range r.batch {
		b := &r.batch[i]
		switch r.entries[i].kind {
		case kindRequests:
			r.Requests.offer(b.Status)
		case kindTokens:
			r.Tokens.offer(b.Status)
		}
		r.entries[i].window = b.Window
	}
	if refused < 0 {
		return nil
	}
	e, st := &r.entries[refused], r.batch[refused].Status
	// The refusing limit's figures win for its family: it is the one the client must respect.
	switch e.kind {
	case kindRequests:
		r.Requests = RateInfo{Limit: st.Limit, Remaining: st.Remaining, Reset: st.Reset, Set: true}
	case kindTokens:
		r.Tokens = RateInfo{Limit: st.Limit, Remaining: st.Remaining, Reset: st.Reset, Set: true}
	}
	d := &Denial{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded",
		Message: e.lv.label + ": " + e.l.label, RetryAfter: st.RetryAfter, Subject: e.lv.label,
		Requests: r.Requests, Tokens: r.Tokens}
	if e.kind == kindCost {
		d.Code = "budget_exceeded"
		d.Need, d.Left = pricing.Money(e.amount), pricing.Money(st.Remaining)
	}
	if e.kind == kindTokens && e.amount > e.l.max {
		d.Message += " (request needs " + strconv.FormatInt(e.amount, 10) + ")"
	}
	r.entries = r.entries[:0] // nothing was reserved
	return d
}

// add queues lv's limits for reserveStored.
func (r *Reservation) add(lv *level, tokens, cost int64) {
	for i := range lv.limits {
		l := &lv.limits[i]
		amount := int64(1)
		switch l.kind {
		case kindTokens:
			amount = tokens
		case kindCost:
			amount = cost
		}
		r.batch = append(r.batch, BatchItem{Counter: l.c, N: amount, Limit: l.max})
		r.entries = append(r.entries, resEntry{c: l.c, amount: amount, kind: l.kind, lv: lv, l: l})
	}
}

// adjustStored sends a Settle's or Release's deltas to the store in one AdjustAll.
func (r *Reservation) adjustStored(cs CounterStore, now int64, delta func(e *resEntry) int64) {
	r.batch = r.batch[:0]
	for i := range r.entries {
		e := &r.entries[i]
		if d := delta(e); d != 0 {
			r.batch = append(r.batch, BatchItem{Counter: e.c, N: d, Window: e.window})
		}
	}
	if len(r.batch) > 0 {
		cs.AdjustAll(now, r.batch)
	}
}
