package governance

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
)

// Estimate is what a request is expected to consume, reserved up front and corrected by Settle.
type Estimate struct {
	// Tokens is prompt tokens plus the completion cap (max_tokens, or a default).
	Tokens int64
	// Cost is the priced estimate (see pricing.Registry.EstimateCost).
	Cost pricing.Money
}

// RateInfo is one x-ratelimit-* header family: the tightest limit of its kind across all levels.
type RateInfo struct {
	Limit     int64
	Remaining int64
	Reset     time.Duration
	Set       bool
}

func (ri *RateInfo) offer(st Status) {
	if !ri.Set || st.Remaining < ri.Remaining {
		*ri = RateInfo{Limit: st.Limit, Remaining: st.Remaining, Reset: st.Reset, Set: true}
	}
}

// Denial explains a refused request. Message names the subject and the limit, e.g. "virtual key ci-bot: rpm 10".
type Denial struct {
	Status     int    // HTTP status to answer
	Code       string // machine-readable: rate_limit_exceeded, budget_exceeded, concurrency_limit_exceeded, model_not_allowed, provider_not_allowed, key_disabled
	Message    string
	RetryAfter time.Duration // 0: retrying will not help (limit smaller than the request, or no reset)
	// Subject is who holds the refusing limit ("virtual key ci-bot", "team platform").
	Subject string
	// Need and Left, on a budget refusal, are the request's reserved worst case and what the budget has left, so
	// the caller can be told what would fit.
	Need, Left pricing.Money
	Requests   RateInfo
	Tokens     RateInfo
}

func (d *Denial) Error() string { return d.Message }

// SetHeaders writes Retry-After and the x-ratelimit-* headers.
func (d *Denial) SetHeaders(h http.Header) {
	if d.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((d.RetryAfter+time.Second-1)/time.Second), 10))
	}
	setRateHeaders(h, d.Requests, d.Tokens)
}

func setRateHeaders(h http.Header, req, tok RateInfo) {
	for _, f := range []struct {
		suffix string
		ri     RateInfo
	}{{"requests", req}, {"tokens", tok}} {
		if !f.ri.Set {
			continue
		}
		h.Set("x-ratelimit-limit-"+f.suffix, strconv.FormatInt(f.ri.Limit, 10))
		h.Set("x-ratelimit-remaining-"+f.suffix, strconv.FormatInt(f.ri.Remaining, 10))
		h.Set("x-ratelimit-reset-"+f.suffix, f.ri.Reset.Round(time.Millisecond).String())
	}
}

// resEntry is one counter a reservation holds an amount on.
type resEntry struct {
	c      Counter
	window int64
	amount int64
	kind   amountKind
	lv     *level // the limit's level and the limit, for a CounterStore's denial (reserveStored)
	l      *limit
}

// Reservation is an admitted request's hold on every counter of its key, team and customer: one request, the
// estimated tokens and the estimated cost. Exactly one of Settle or Release must be called, once; the
// Reservation must not be used afterwards (it is recycled, which keeps admission allocation-free).
type Reservation struct {
	s        *Service
	entries  []resEntry
	batch    []BatchItem // a CounterStore's ReserveAll / AdjustAll items (reused)
	sem      chan struct{}
	Requests RateInfo // for the x-ratelimit-*-requests headers of the response
	Tokens   RateInfo // for the x-ratelimit-*-tokens headers
}

var resPool = sync.Pool{New: func() any { return &Reservation{entries: make([]resEntry, 0, 16)} }}

// SetHeaders writes the x-ratelimit-* headers for a successful response.
func (r *Reservation) SetHeaders(h http.Header) { setRateHeaders(h, r.Requests, r.Tokens) }

// Settle replaces the estimates with the actual usage and cost. The request itself stays counted.
func (r *Reservation) Settle(u schema.Usage, cost pricing.Money) {
	if r == nil || r.s == nil {
		return
	}
	tokens := u.TotalTokens
	if tokens < u.PromptTokens+u.CompletionTokens {
		tokens = u.PromptTokens + u.CompletionTokens
	}
	delta := func(e *resEntry) int64 {
		switch e.kind {
		case kindTokens:
			return tokens - e.amount
		case kindCost:
			return int64(cost) - e.amount
		}
		return 0
	}
	now := r.s.now()
	if cs := r.s.opt.Counters; cs != nil {
		r.adjustStored(cs, now, delta)
	} else {
		for i := range r.entries {
			e := &r.entries[i]
			if d := delta(e); d != 0 {
				e.c.Adjust(now, e.window, d)
			}
		}
	}
	r.finish()
}

// Release gives everything back: the request failed before consuming anything billable.
func (r *Reservation) Release() {
	if r == nil || r.s == nil {
		return
	}
	now := r.s.now()
	if cs := r.s.opt.Counters; cs != nil {
		r.adjustStored(cs, now, func(e *resEntry) int64 { return -e.amount })
	} else {
		for i := range r.entries {
			e := &r.entries[i]
			e.c.Adjust(now, e.window, -e.amount)
		}
	}
	r.finish()
}

func (r *Reservation) finish() {
	if r.sem != nil {
		<-r.sem
	}
	r.s, r.sem = nil, nil
	clear(r.entries) // drop Counter references before pooling
	r.entries = r.entries[:0]
	clear(r.batch)
	r.batch = r.batch[:0]
	r.Requests, r.Tokens = RateInfo{}, RateInfo{}
	resPool.Put(r)
}

// Admit checks and reserves, in one step per counter, one request plus est against every limit of p's key,
// per-provider limits, team and customer. Either everything is reserved and a Reservation returned, or nothing
// is (partial holds are rolled back) and a Denial says which limit refused.
//
// model is the requested name; "provider/model" also applies the key's provider allow-list and per-provider
// limits. The caller may check resolved targets with Principal.AllowsModel / AllowsProvider.
func (s *Service) Admit(ctx context.Context, p *Principal, model string, est Estimate) (*Reservation, *Denial) {
	if p == nil {
		return nil, &Denial{Status: http.StatusUnauthorized, Code: "invalid_api_key", Message: "missing or unknown virtual key"}
	}
	if !p.usable(s.now) {
		return nil, &Denial{Status: http.StatusUnauthorized, Code: "key_disabled", Message: "virtual key " + p.rec.ID + ": disabled or expired"}
	}
	if !p.AllowsModel(model) {
		return nil, &Denial{Status: http.StatusForbidden, Code: "model_not_allowed",
			Message: "virtual key " + p.rec.ID + ": model " + model + " is not allowed"}
	}
	provider, _, hasProv := strings.Cut(model, "/")
	if hasProv && !p.AllowsProvider(provider) {
		return nil, &Denial{Status: http.StatusForbidden, Code: "provider_not_allowed",
			Message: "virtual key " + p.rec.ID + ": provider " + provider + " is not allowed"}
	}

	var sem chan struct{}
	if p.sem != nil {
		if d := s.acquire(ctx, p); d != nil {
			return nil, d
		}
		sem = p.sem
	}

	now := s.now() // after the semaphore: we may have waited
	r := resPool.Get().(*Reservation)
	r.s, r.sem = s, sem
	// A zero estimate still reserves one unit, so an exhausted budget or token limit refuses requests whose
	// cost cannot be estimated; Settle corrects the unit to the actual.
	tokens, cost := max(est.Tokens, 1), max(int64(est.Cost), 1)
	if cs := s.opt.Counters; cs != nil {
		var prov [2]*level
		if hasProv && p.provLimits != nil {
			prov[0] = p.provLimits[provider]
		}
		if d := r.reserveStored(cs, now, tokens, cost, p.levels, prov); d != nil {
			r.finish()
			return nil, d
		}
		return r, nil
	}
	for _, lv := range p.levels {
		if d := r.reserve(lv, now, tokens, cost); d != nil {
			return nil, completeInfo(d, p, provider, now)
		}
	}
	if hasProv && p.provLimits != nil {
		if lv := p.provLimits[provider]; lv != nil {
			if d := r.reserve(lv, now, tokens, cost); d != nil {
				return nil, completeInfo(d, p, provider, now)
			}
		}
	}
	return r, nil
}

// completeInfo fills the header figures a denial did not reach (the limits after the refusing one) by peeking,
// so a 429 still carries both x-ratelimit families.
func completeInfo(d *Denial, p *Principal, provider string, now int64) *Denial {
	req, tok := d.Requests, d.Tokens
	offer := func(lv *level) {
		for i := range lv.limits {
			l := &lv.limits[i]
			switch l.kind {
			case kindRequests:
				req.offer(l.c.Peek(now, l.max))
			case kindTokens:
				tok.offer(l.c.Peek(now, l.max))
			}
		}
	}
	for _, lv := range p.levels {
		offer(lv)
	}
	if lv := p.provLimits[provider]; lv != nil {
		offer(lv)
	}
	// The refusing limit's own figures win for its family (it is the one the client must respect).
	if !d.Requests.Set {
		d.Requests = req
	}
	if !d.Tokens.Set {
		d.Tokens = tok
	}
	return d
}

// reserve takes lv's limits into r, or rolls all of r back and returns the denial.
func (r *Reservation) reserve(lv *level, now, tokens, cost int64) *Denial {
	for i := range lv.limits {
		l := &lv.limits[i]
		amount := int64(1)
		switch l.kind {
		case kindTokens:
			amount = tokens
		case kindCost:
			amount = cost
		}
		ok, window, st := l.c.Reserve(now, amount, l.max)
		if !ok && r.s.borrow(l.c, now, amount, l.max) {
			ok, window, st = l.c.Reserve(now, amount, l.max)
		}
		switch l.kind {
		case kindRequests:
			r.Requests.offer(st)
		case kindTokens:
			r.Tokens.offer(st)
		}
		if !ok {
			d := &Denial{Status: http.StatusTooManyRequests, Code: "rate_limit_exceeded",
				Message: lv.label + ": " + l.label, RetryAfter: st.RetryAfter, Subject: lv.label}
			if l.kind == kindCost {
				d.Code = "budget_exceeded"
				d.Need, d.Left = pricing.Money(amount), pricing.Money(st.Remaining)
			}
			d.Requests, d.Tokens = r.Requests, r.Tokens
			if l.kind == kindTokens && amount > l.max {
				d.Message += " (request needs " + strconv.FormatInt(amount, 10) + ")"
			}
			r.Release()
			return d
		}
		r.entries = append(r.entries, resEntry{c: l.c, window: window, amount: amount, kind: l.kind})
	}
	return nil
}

// acquire takes a max_concurrent slot, waiting up to ConcurrencyWait.
func (s *Service) acquire(ctx context.Context, p *Principal) *Denial {
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(s.opt.ConcurrencyWait)
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return &Denial{Status: http.StatusTooManyRequests, Code: "concurrency_limit_exceeded",
		Message:    "virtual key " + p.rec.ID + ": max_concurrent " + strconv.Itoa(cap(p.sem)),
		RetryAfter: time.Second}
}

// Peek reports every limit of p (key, team, customer, per-provider) without reserving — for admin usage views.
func (s *Service) Peek(p *Principal) []LimitStatus {
	now := s.now()
	var out []LimitStatus
	add := func(lv *level) {
		for _, l := range lv.limits {
			out = append(out, LimitStatus{Subject: lv.label, Limit: l.label, Metric: l.metric, Status: l.c.Peek(now, l.max)})
		}
	}
	for _, lv := range p.levels {
		add(lv)
	}
	for _, lv := range p.provLimits {
		add(lv)
	}
	return out
}

// LimitStatus is one limit's current usage.
type LimitStatus struct {
	Subject string // "team platform"
	Limit   string // "rpm 10"
	Metric  string // "rpm"
	Status  Status
}

// AdmitCall admits a call that is not a model request (an MCP tool call): the key must be usable, and one
// request plus est is reserved against every limit and budget of its key, team and customer, as Admit does,
// without the model and provider allow-lists (the caller checks its own). Settle or Release it the same way.
func (s *Service) AdmitCall(ctx context.Context, p *Principal, est Estimate) (*Reservation, *Denial) {
	if p == nil {
		return nil, &Denial{Status: http.StatusUnauthorized, Code: "invalid_api_key", Message: "missing or unknown virtual key"}
	}
	if !p.usable(s.now) {
		return nil, &Denial{Status: http.StatusUnauthorized, Code: "key_disabled", Message: "virtual key " + p.rec.ID + ": disabled or expired"}
	}
	var sem chan struct{}
	if p.sem != nil {
		if d := s.acquire(ctx, p); d != nil {
			return nil, d
		}
		sem = p.sem
	}
	now := s.now()
	r := resPool.Get().(*Reservation)
	r.s, r.sem = s, sem
	tokens, cost := max(est.Tokens, 1), max(int64(est.Cost), 1)
	for _, lv := range p.levels {
		if d := r.reserve(lv, now, tokens, cost); d != nil {
			return nil, completeInfo(d, p, "", now)
		}
	}
	return r, nil
}
