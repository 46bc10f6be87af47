package gateway

import (
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
)

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

// defaultCompletionEstimate is reserved when a request sets no max_tokens; Settle corrects it.
const defaultCompletionEstimate = 512
