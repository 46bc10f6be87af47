package gateway

import (
	"net/http"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/schema"
)

// responsesLayer serves the Responses API (POST /v1/responses) around the core. Before the plan it pins a request
// that continues a passed-through response to that response's account; per attempt it either passes the request
// through to an upstream with the Responses API (remembering the new response's account) or translates it to
// chat and back (expanding item references and history before, storing the response after).
var responsesLayer = opLayer{prepare: pinToPrevious, attempt: responsesAttempt}

// inputTokensLayer serves POST /v1/responses/input_tokens like a Responses request (routing, retries, fallbacks,
// governance, the pin to a previous response), except that the input is counted, not answered, and nothing is
// charged: a governed caller's request is counted against its request limits and the model allow-list applies,
// but no tokens or cost are reserved or settled.
var inputTokensLayer = opLayer{prepare: prepareCount, attempt: countAttempt, finish: chargeNothing}

// pinToPrevious plans a request that continues a response Weir passed through on the provider and model that
// hold that response, with no fallback: only that account has it. It sets f.pin, and f.target and f.fallbacks
// when pinned.
func pinToPrevious(e *Engine, f *flow) *Error {
	pin, gerr := e.pinResponse(f.ctx, &f.req, f.body)
	if gerr != nil {
		return gerr
	}
	f.pin = pin
	if pin != nil && pin.model != "" {
		f.target, f.fallbacks = pin.up.Config.Name+"/"+pin.model, nil
	}
	return nil
}

// prepareCount makes a request a count: never streamed, and admitted without tokens or cost.
func prepareCount(e *Engine, f *flow) *Error {
	f.ess.stream, f.ess.includeUsage = false, false
	f.out.Stream = false
	f.adm.countOnly = true
	return pinToPrevious(e, f)
}

// chargeNothing leaves a count's usage empty: counting input costs no tokens.
func chargeNothing(f *flow) { f.out.Usage = schema.Usage{} }

// responsesAttempt serves a Responses request on one target: on the pinned account when there is one, then
// translated when the target has no Responses API, or passed through, remembering the new response.
func responsesAttempt(e *Engine, f *flow, t *try) error {
	if gerr := moveToPin(f, t); gerr != nil {
		return gerr
	}
	if !nativeResponses(t.up, provider.DialectOf(t.up.Provider, t.model)) {
		t.key = nil // a translated request goes as chat, with any key of the target
		return e.attemptResponses(f, t)
	}
	if t.key == nil {
		t.key = t.up.Keys.Pick(t.model)
	}
	ids := &responseIDSink{Sink: t.w}
	t.w = ids
	err := e.runAttempt(f, t)
	if ids.id != "" {
		e.rememberResponse(t.ctx, &f.req, t.body, ids.id, t.up, t.key, t.model)
	}
	return err
}

// countAttempt counts a Responses request's input tokens on one target (the pinned account when there is one).
func countAttempt(e *Engine, f *flow, t *try) error {
	if gerr := moveToPin(f, t); gerr != nil {
		return gerr
	}
	return e.runStages(f, t, countAttemptStages[:])
}

// moveToPin moves an attempt to the account that holds the previous response, whatever target the router
// chose, and to the key that made it. It changes t.up, t.model, t.key and the answer's provider.
func moveToPin(f *flow, t *try) *Error {
	pin := f.pin
	if pin == nil {
		return nil
	}
	if pin.up != t.up {
		// The router chose another target: the previous response only exists in the pinned account.
		if p := f.req.Principal; p != nil && !p.AllowsProvider(pin.up.Config.Name) {
			return errorf(http.StatusForbidden, TypePermission, "provider_not_allowed",
				"virtual key %s may not use provider %s, which holds the previous response", p.ID(), pin.up.Config.Name)
		}
		t.up = pin.up
		if pin.model != "" {
			t.model = pin.model
		}
		f.out.Provider, f.out.Model = t.up.Config.Name, t.model
		h := t.w.Header()
		h["X-Weir-Provider"] = t.up.nameHeader
		setModelHeader(h, t.model)
	}
	if t.key = pin.key; t.key != nil && !t.key.Allows(t.model) {
		return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"the key of provider %s that made the previous response is not allowed to use model %q", t.up.Config.Name, t.model)
	}
	return nil
}
