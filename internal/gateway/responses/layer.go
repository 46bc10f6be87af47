// Package responses is the Responses API (POST /v1/responses, its input_tokens and stored-response routes) as a
// layer around the gateway's core: Use registers its layers with an engine (gateway.Engine.Use), and the core
// knows nothing of it.
package responses

import (
	"net/http"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/schema"
)

// Use makes e serve POST /v1/responses and POST /v1/responses/input_tokens through this package's layers.
// Call it once, before e serves.
func Use(e *gateway.Engine) {
	e.Use(provider.OpResponses, &responsesLayer)
	e.Use(OpInputTokens, &inputTokensLayer)
}

// responsesLayer serves the Responses API (POST /v1/responses) around the core. Before the plan it pins a request
// that continues a passed-through response to that response's account; per attempt it either passes the request
// through to an upstream with the Responses API (remembering the new response's account) or translates it to
// chat and back (expanding item references and history before, storing the response after).
var responsesLayer = gateway.Layer{Prepare: pinToPrevious, Attempt: responsesAttempt}

// inputTokensLayer serves POST /v1/responses/input_tokens like a Responses request (routing, retries, fallbacks,
// governance, the pin to a previous response), except that the input is counted, not answered, and nothing is
// charged: a governed caller's request is counted against its request limits and the model allow-list applies,
// but no tokens or cost are reserved or settled.
var inputTokensLayer = gateway.Layer{Prepare: prepareCount, Attempt: countAttempt, Finish: chargeNothing}

// pinToPrevious plans a request that continues a response Weir passed through on the provider and model that
// hold that response, with no fallback: only that account has it. It keeps that account as the flow's pin.
func pinToPrevious(e *gateway.Engine, f *gateway.Flow) *gateway.Error {
	pin, gerr := pinResponse(f.Ctx(), e, f.Request(), f.Body())
	if gerr != nil {
		return gerr
	}
	f.SetPin(pin)
	if pin.Up != nil && pin.Model != "" {
		f.Retarget(pin.Up.Config.Name + "/" + pin.Model)
	}
	return nil
}

// prepareCount makes a request a count: never streamed, and admitted without tokens or cost.
func prepareCount(e *gateway.Engine, f *gateway.Flow) *gateway.Error {
	f.CountOnly()
	return pinToPrevious(e, f)
}

// chargeNothing leaves a count's usage empty: counting input costs no tokens.
func chargeNothing(f *gateway.Flow) { f.Outcome().Usage = schema.Usage{} }

// responsesAttempt serves a Responses request on one target: on the pinned account when there is one, then
// translated when the target has no Responses API, or passed through, remembering the new response.
func responsesAttempt(e *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	if gerr := moveToPin(f, t); gerr != nil {
		return gerr
	}
	up := t.Upstream()
	if !nativeResponses(up, provider.DialectOf(up.Provider, t.Model())) {
		t.SetKey(nil) // a translated request goes as chat, with any key of the target
		return attemptTranslated(e, f, t)
	}
	if t.Key() == nil {
		t.SetKey(up.Keys.Pick(t.Model()))
	}
	ids := &responseIDSink{Sink: t.Sink()}
	t.SetSink(ids)
	err := t.Run()
	if ids.id != "" {
		rememberResponse(t.Ctx(), e, f.Request(), t.Body(), ids.id, t.Upstream(), t.Key(), t.Model())
	}
	return err
}

// countAttempt counts a Responses request's input tokens on one target (the pinned account when there is one).
func countAttempt(e *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	if gerr := moveToPin(f, t); gerr != nil {
		return gerr
	}
	return count(e, f, t)
}

// moveToPin moves an attempt to the account that holds the previous response, whatever target the router
// chose, and to the key that made it.
func moveToPin(f *gateway.Flow, t *gateway.Try) *gateway.Error {
	pin := f.Pin()
	if pin.Up == nil {
		return nil
	}
	if pin.Up != t.Upstream() {
		// The router chose another target: the previous response only exists in the pinned account.
		if p := f.Request().Principal; p != nil && !p.AllowsProvider(pin.Up.Config.Name) {
			return gateway.Errorf(http.StatusForbidden, gateway.TypePermission, "provider_not_allowed",
				"virtual key %s may not use provider %s, which holds the previous response", p.ID(), pin.Up.Config.Name)
		}
		t.MoveTo(pin.Up, pin.Model)
	}
	t.SetKey(pin.Key)
	if k := pin.Key; k != nil && !k.Allows(t.Model()) {
		return gateway.Errorf(http.StatusForbidden, gateway.TypePermission, "model_not_allowed",
			"the key of provider %s that made the previous response is not allowed to use model %q", t.Upstream().Config.Name, t.Model())
	}
	return nil
}
