package gateway

import (
	"net/http"
	"strconv"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/reqbody"
)

// estimate is what admission reserves for body on model, and the completion cap it assumed: the caller's cap
// clamped to what the model can write (see pricing.Registry.Estimate), so no max_tokens can wrap the sums.
func estimate(prices *pricing.Registry, model string, body []byte) (governance.Estimate, int64) {
	prompt, maxOut := reqbody.TokenEstimate(body)
	maxOut, cost := prices.Estimate(model, prompt, maxOut)
	return governance.Estimate{Tokens: prompt + maxOut, Cost: cost}, maxOut
}

// denialError is a governance refusal as the caller's error. maxOut is the completion cap the reservation
// assumed (0: none): a budget that still has money but not the request's worst case says so, since lowering
// max_tokens is what makes the request fit.
func denialError(d *governance.Denial, maxOut int64) *Error {
	typ := TypeRateLimit
	switch d.Status {
	case http.StatusForbidden:
		typ = TypePermission
	case http.StatusUnauthorized:
		typ = TypeAuthentication
	case http.StatusServiceUnavailable:
		typ = TypeAPI // the counter store is unreachable (cluster.redis.on_error: closed)
	}
	msg := d.Message
	if d.Code == "budget_exceeded" && d.Left > 0 && maxOut > 0 {
		msg += ": this request may cost up to " + d.Need.String() + " (max_tokens " + strconv.FormatInt(maxOut, 10) +
			"); " + d.Subject + " has " + d.Left.String() + " left of this budget — lower max_tokens"
	}
	return &Error{Status: d.Status, Type: typ, Code: d.Code, Message: msg, RetryAfter: d.RetryAfter}
}
