package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/reqbody"
	"github.com/weir-gateway/weir/internal/schema"
)

// admission owns every reservation of one request: the request-level one on the principal's limits and budgets
// (reserve, settled by settle), and one per attempt on the target's own limits — its provider's budget and rate
// limits, and the key's provider_limits for it when the request-level one did not take them (the caller named an
// alias or a bare model) — reserved by reserveTarget and settled by settleTarget. Each is settled to the real
// usage, or released, by closeReservation.
type admission struct {
	gov       *governance.Service // nil: ungoverned
	res       *governance.Reservation
	countOnly bool // counted, not charged (input_tokens): no tokens or cost reserved or settled

	// The targets' reservations.
	prompt, maxOut int64                   // the body's token estimate, read on first need (maxOut 0: not yet)
	retryAfter     time.Duration           // the soonest Retry-After among refused targets
	refused        []string                // what refused each skipped target, in order
	target         *governance.Reservation // the current attempt's
}

// admit reserves the request's share of every limit and budget of its principal in one atomic step, so
// concurrent requests cannot all pass a check that only one of them fits. It sets f.adm and the rate-limit
// headers of the answer.
func admit(_ *Engine, f *Flow) *Error {
	return f.adm.reserve(f.ctx, f.req.Principal, f.admitModel, f.admitBody, f.w.Header())
}

// reserve is admit's reservation: the body's estimate on model, nothing for a count, and for a call that names
// no model only the check that the key is enabled and within its limits.
func (a *admission) reserve(ctx context.Context, p *governance.Principal, model string, body []byte, h http.Header) *Error {
	if p == nil || a.gov == nil {
		return nil
	}
	if model == "" {
		return admitRead(ctx, a.gov, p, "", h)
	}
	var (
		est    governance.Estimate
		maxOut int64
	)
	if !a.countOnly {
		est, maxOut = estimate(a.gov.Prices(), model, body)
	}
	res, d := a.gov.Admit(ctx, p, model, est)
	if d != nil {
		d.SetHeaders(h)
		return denialError(d, maxOut)
	}
	res.SetHeaders(h)
	a.res = res
	return nil
}

// settle charges the request's real usage (priced for the provider and model that answered) or, when it failed
// having cost nothing, releases its reservation.
func (a *admission) settle(ok bool, providerName, model string, u schema.Usage) {
	if a.res == nil {
		return
	}
	a.closeReservation(a.res, ok || !u.IsZero(), providerName, model, u)
	a.res = nil
}

// reserveTarget reserves an attempt at up's model on the target's limits, or refuses the target with a 429 that
// names the provider and the limit (and every target refused before it). With nothing configured for the target
// it reserves nothing and allocates nothing.
func (a *admission) reserveTarget(req *Request, body []byte, requested string, up *Upstream, model string) *Error {
	a.target = nil
	if a.gov == nil {
		return nil
	}
	t := a.gov.Target(req.Principal, requested, up.Config.Name)
	if t.Empty() {
		return nil
	}
	if a.maxOut == 0 {
		a.prompt, a.maxOut = reqbody.TokenEstimate(body)
	}
	// Clamped per target: each model has its own output limit and price.
	maxOut, cost := a.gov.Prices().Estimate(up.Config.Name+"/"+model, a.prompt, a.maxOut)
	est := governance.Estimate{Tokens: a.prompt + maxOut, Cost: cost}
	res, d := a.gov.AdmitTarget(t, est)
	if d == nil {
		a.target = res
		return nil
	}
	ge := denialError(d, maxOut)
	ge.Header = http.Header{}
	d.SetHeaders(ge.Header) // the refusing limit's x-ratelimit-* figures replace the key's on this answer
	ge.Header.Del("Retry-After")
	if d.RetryAfter > 0 && (a.retryAfter == 0 || d.RetryAfter < a.retryAfter) {
		a.retryAfter = d.RetryAfter
	}
	ge.RetryAfter = a.retryAfter // the soonest any refused target could take the request
	a.refused = append(a.refused, d.Message)
	if len(a.refused) > 1 {
		ge.Message = strings.Join(a.refused, "; ")
	}
	return ge
}

// settleTarget charges an attempt's real usage to its target reservation, or releases it when the attempt
// failed before any of the answer reached the caller.
func (a *admission) settleTarget(providerName, model string, out *Outcome, err error) {
	if a.target == nil {
		return
	}
	a.closeReservation(a.target, err == nil || out.Committed, providerName, model, out.Usage)
	a.target = nil
}

// closeReservation is the one way a reservation ends: settled to u priced for the model that answered, or
// released when charge is false.
func (a *admission) closeReservation(res *governance.Reservation, charge bool, providerName, model string, u schema.Usage) {
	if !charge {
		res.Release()
		return
	}
	if a.countOnly {
		res.Settle(schema.Usage{}, 0) // the request stays counted; no tokens, no cost
		return
	}
	res.Settle(u, a.gov.Prices().Cost(providerName+"/"+model, u))
}
