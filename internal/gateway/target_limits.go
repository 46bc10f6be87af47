package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
)

// targetGate is one request's per-attempt check of the target's own limits: its provider's budget and rate
// limits (governance.providers) and the calling key's provider_limits for it when admission did not take them
// (the caller named an alias or a bare model). A target over one of them is skipped, like a provider the key
// may not use; the refusal becomes the request's error only if no other target serves.
type targetGate struct {
	prompt, maxOut int64         // the body's token estimate, read on first need (maxOut 0: not yet)
	retryAfter     time.Duration // the soonest Retry-After among refused targets
	refused        []string      // what refused each skipped target, in order
}

// reserveTarget reserves an attempt at up's model on the target's limits, or refuses the target with a 429 that
// names the provider and the limit (and every target refused before it). With nothing configured for the target
// it returns nil, nil without allocating.
func (e *Engine) reserveTarget(g *targetGate, req *Request, body []byte, requested string, up *Upstream,
	model string) (*governance.Reservation, *Error) {
	if e.gov == nil {
		return nil, nil
	}
	t := e.gov.Target(req.Principal, requested, up.Config.Name)
	if t.Empty() {
		return nil, nil
	}
	if g.maxOut == 0 {
		g.prompt, g.maxOut = tokenEstimate(body)
	}
	// Clamped per target: each model has its own output limit and price.
	maxOut, cost := e.gov.Prices().Estimate(up.Config.Name+"/"+model, g.prompt, g.maxOut)
	est := governance.Estimate{Tokens: g.prompt + maxOut, Cost: cost}
	res, d := e.gov.AdmitTarget(t, est)
	if d == nil {
		return res, nil
	}
	ge := denialError(d, maxOut)
	ge.Header = http.Header{}
	d.SetHeaders(ge.Header) // the refusing limit's x-ratelimit-* figures replace the key's on this answer
	ge.Header.Del("Retry-After")
	if d.RetryAfter > 0 && (g.retryAfter == 0 || d.RetryAfter < g.retryAfter) {
		g.retryAfter = d.RetryAfter
	}
	ge.RetryAfter = g.retryAfter // the soonest any refused target could take the request
	g.refused = append(g.refused, d.Message)
	if len(g.refused) > 1 {
		ge.Message = strings.Join(g.refused, "; ")
	}
	return nil, ge
}

// settleTarget charges an attempt's real usage to its target reservation, or releases it when the attempt
// failed before any of the answer reached the caller.
func (e *Engine) settleTarget(res *governance.Reservation, up *Upstream, model string, out *Outcome, err error) {
	if res == nil {
		return
	}
	if err != nil && !out.Committed {
		res.Release()
		return
	}
	res.Settle(out.Usage, e.gov.Prices().Cost(up.Config.Name+"/"+model, out.Usage))
}
