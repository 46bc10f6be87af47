package gateway

import (
	"context"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/governance"
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
	prompt, maxOut := tokenEstimate(body)
	est := governance.Estimate{Tokens: prompt + maxOut, Cost: e.gov.Prices().EstimateCost(model, prompt, maxOut)}
	res, d := e.gov.Admit(ctx, p, model, est)
	if d != nil {
		d.SetHeaders(w)
		return nil, denialError(d)
	}
	res.SetHeaders(w)
	return &admission{gov: e.gov, res: res}, nil
}

// tokenEstimate is what admission reserves before the answer is known: the prompt at about four bytes a token
// and the completion cap (max_completion_tokens, max_tokens, or a default).
func tokenEstimate(body []byte) (prompt, maxOut int64) {
	prompt = int64(len(body)/4 + 1)
	// One pass over the top-level keys. Chat's names win over the Responses API's, then Gemini's and Bedrock
	// Converse's (the provider-native routes).
	var completion, tokens, other int64
	gjson.Parse(unsafeString(body)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "max_completion_tokens":
			completion = v.Int()
		case "max_tokens":
			tokens = v.Int()
		case "max_output_tokens":
			other = v.Int()
		case "generationConfig":
			other = v.Get("maxOutputTokens").Int()
		case "inferenceConfig":
			other = v.Get("maxTokens").Int()
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

// denialError is a governance refusal as the caller's error.
func denialError(d *governance.Denial) *Error {
	typ := TypeRateLimit
	switch d.Status {
	case http.StatusForbidden:
		typ = TypePermission
	case http.StatusUnauthorized:
		typ = TypeAuthentication
	}
	return &Error{Status: d.Status, Type: typ, Code: d.Code, Message: d.Message, RetryAfter: d.RetryAfter}
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
