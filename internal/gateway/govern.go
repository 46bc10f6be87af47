package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
)

// admission is a governed request's reservation, settled to the real usage when the request ends.
type admission struct {
	gov *governance.Service
	res *governance.Reservation
}

// admit checks the principal's model allow-list and reserves its share of every limit and budget in one
// atomic step, so concurrent requests cannot all pass a check that only one of them fits.
func (e *Engine) admit(ctx context.Context, p *governance.Principal, model string, body []byte, w http.Header) (*admission, *Error) {
	if p == nil || e.gov == nil {
		return nil, nil
	}
	if !p.AllowsModel(model) {
		return nil, errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"virtual key %s may not use model %q", p.ID(), model)
	}
	est, maxOut := estimate(e.gov.Prices(), model, body)
	res, d := e.gov.Admit(ctx, p, model, est)
	if d != nil {
		d.SetHeaders(w)
		return nil, denialError(d, maxOut)
	}
	res.SetHeaders(w)
	return &admission{gov: e.gov, res: res}, nil
}

// estimate is what admission reserves for body on model, and the completion cap it assumed: the caller's cap
// clamped to what the model can write (see pricing.Registry.Estimate), so no max_tokens can wrap the sums.
func estimate(prices *pricing.Registry, model string, body []byte) (governance.Estimate, int64) {
	prompt, maxOut := tokenEstimate(body)
	maxOut, cost := prices.Estimate(model, prompt, maxOut)
	return governance.Estimate{Tokens: prompt + maxOut, Cost: cost}, maxOut
}

// tokenEstimate is what admission reserves before the answer is known: the prompt at about four bytes a token
// and the completion cap (max_completion_tokens, max_tokens, or a default).
func tokenEstimate(body []byte) (prompt, maxOut int64) {
	prompt = int64(len(body)/4 + 1)
	// One pass over the top-level keys. Chat's names win over the Responses API's, then Gemini's and Bedrock
	// Converse's (the provider-native routes). A key given twice counts at its largest: upstreams differ on
	// which one they keep.
	var completion, tokens, other int64
	gjson.Parse(unsafeString(body)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "max_completion_tokens":
			completion = max(completion, v.Int())
		case "max_tokens":
			tokens = max(tokens, v.Int())
		case "max_output_tokens":
			other = max(other, v.Int())
		case "generationConfig":
			other = max(other, v.Get("maxOutputTokens").Int())
		case "inferenceConfig":
			other = max(other, v.Get("maxTokens").Int())
		}
		return true
	})
	for _, n := range [...]int64{completion, tokens, other} {
		if n > 0 {
			return prompt, n
		}
	}
	return prompt, defaultCompletionEstimate
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
	}
	msg := d.Message
	if d.Code == "budget_exceeded" && d.Left > 0 && maxOut > 0 {
		msg += ": this request may cost up to " + d.Need.String() + " (max_tokens " + strconv.FormatInt(maxOut, 10) +
			"); " + d.Subject + " has " + d.Left.String() + " left of this budget — lower max_tokens"
	}
	return &Error{Status: d.Status, Type: typ, Code: d.Code, Message: msg, RetryAfter: d.RetryAfter}
}

// defaultCompletionEstimate is reserved when a request sets no max_tokens; Settle corrects it.
const defaultCompletionEstimate = 512

// settle charges the real usage (priced for the model that answered) or releases the reservation.
func (a *admission) settle(ok bool, pricedModel string, u schema.Usage) {
	if a == nil {
		return
	}
	if !ok && u.IsZero() {
		a.res.Release()
		return
	}
	a.res.Settle(u, a.gov.Prices().Cost(pricedModel, u))
}
