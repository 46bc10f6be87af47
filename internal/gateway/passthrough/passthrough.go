// Package passthrough serves the requests the gateway passes through without reading them as a chat — images,
// audio, moderations, rerank, files, batches, and the providers' own routes — as a pipeline of its own around
// the core: its parse, plan and attempt stages with the core's authorize, bodyrefs, admit and acquire, run by
// gateway.Engine.Run through the same dispatch, meter and settle as chat. The body goes upstream as it came
// (model rewritten, an upload re-encoded) and the answer comes back as it is, metered by the route's meter.
package passthrough

import (
	"context"
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/upload"
)

// Request is a pass-through request: governance, routing, metering and the request log apply to it as to chat;
// its body and answer are carried as they are.
type Request struct {
	Method   string
	Path     string // below the provider's API root; "" for the op's default path
	RawQuery string
	Header   http.Header // caller headers to forward upstream (Content-Type, Accept, version headers)
	Body     []byte      // a JSON (or empty) body; its "model" is rewritten for the target
	Form     *upload.Form
	// Model is the model as the caller named it: "provider/model", an alias or a bare name. "" for calls that
	// name none (listing files); they go to Pin, or to the first provider that offers the op.
	Model string
	// Pin sends the call to one provider (and one of its keys), with no fallback: a file or batch lives in the
	// account that created it.
	Pin *Pin
	// Meter reads the usage of a successful answer from the request body and the answer (answer is nil when it
	// was streamed, not buffered).
	Meter func(body, answer []byte) schema.Usage
	// OnAnswer sees a successful buffered JSON answer before it is written, with the provider and key that
	// made it (to remember which account owns a new file or batch).
	OnAnswer func(up *gateway.Upstream, key *provider.Key, answer []byte)
	// Rewrite, when set, reshapes a successful buffered JSON answer before it is written (after metering): a
	// transcription asked of the upstream as JSON, for its duration, goes back as the text the caller asked for.
	Rewrite func(answer []byte) (body []byte, contentType string)
	// TailMeter reads the usage of a successful answer that was not buffered (a native stream) from its last
	// bytes.
	TailMeter func(tail []byte) schema.Usage
	// Native, when set, limits the targets to providers speaking this dialect (a provider's own routes).
	Native dialects.Dialect

	try attempt // the current attempt's own state: kept here, it costs a request no allocation
}

// Pin names the provider, and optionally the key, a call must go to.
type Pin struct {
	Provider string
	KeyID    string // provider.Key.ID; "" lets the gateway pick
}

// pipeline is a pass-through request's way through the gateway (see the core's pipeline.go).
var pipeline = gateway.Pipeline{
	Request: []gateway.Stage{{Name: "parse", Run: parse}, {Name: "plan", Run: plan},
		gateway.Authorize, gateway.BodyRefs, gateway.Admit}, // a native /openai/chat/completions names files as /v1's does
	Attempt: []gateway.AttemptStage{{Name: "route", Run: route}, gateway.Acquire, {Name: "encode", Run: encode},
		{Name: "send", Run: send}, {Name: "relay", Run: relayAnswer}},
	CutUsage: cutUsage,
}

// Serve runs raw (req says its op, dialect, caller headers and principal; its Body is unused) through e,
// writing the answer to w.
func Serve(ctx context.Context, e *gateway.Engine, x *gateway.Exchange, req *gateway.Request, raw *Request, w relay.Sink) (gateway.Outcome, error) {
	return e.Run(ctx, x, req, w, &pipeline, raw)
}

// of is the flow's pass-through request.
func of(f *gateway.Flow) *Request { return f.State().(*Request) }

// parse takes what routing needs: the model as the caller named it (qualified for a provider-native route) and
// the body. A JSON body sizes admission like a chat request's; an upload or an empty body reserves a request
// and no tokens.
func parse(e *gateway.Engine, f *gateway.Flow) *gateway.Error {
	raw := of(f)
	if raw.Pin == nil && raw.Model != "" && raw.Native != "" {
		raw.Model = nativeModel(e, f, raw.Model, raw.Native)
	}
	admitBody := raw.Body
	if raw.Form != nil {
		admitBody = nil
	}
	f.SetParsed(raw.Model, raw.Body, admitBody)
	return nil
}

// plan plans the request like the core's Plan, except that a call that names no model, or is about a stored
// object, goes to one account with no fallback (Flow.PlanOne).
func plan(e *gateway.Engine, f *gateway.Flow) *gateway.Error {
	raw := of(f)
	if raw.Pin == nil && raw.Model != "" {
		return gateway.Plan.Run(e, f)
	}
	up, key, model, gerr := pinned(f, raw)
	if gerr != nil {
		return gerr
	}
	f.PlanOne(up, key, model)
	return nil
}

// nativeModel qualifies a bare model on a provider-native route (the provider's SDK knows no Weir prefixes):
// unless it is an alias, "provider/model", or listed by a provider, it goes to the first provider (by name) of
// the route's dialect that the key may use (of the provider set the request arrived with).
func nativeModel(e *gateway.Engine, f *gateway.Flow, model string, d dialects.Dialect) string {
	if e.Router().Has(model) {
		return model
	}
	if p, m, ok := strings.Cut(model, "/"); ok && m != "" && f.Routes().Get(p) != nil {
		return model
	}
	if _, _, gerr := e.Resolve(model); gerr == nil {
		return model
	}
	p := f.Request().Principal
	for _, up := range f.Routes().List() {
		if n := up.Config.Name; up.Provider.Dialect() == d && (p == nil || p.AllowsProvider(n)) {
			return n + "/" + model
		}
	}
	return model
}

// pinned finds the provider and key of a call that names no model or is pinned to an account, in the provider
// set the request arrived with.
func pinned(f *gateway.Flow, raw *Request) (*gateway.Upstream, *provider.Key, string, *gateway.Error) {
	req, model := f.Request(), raw.Model
	if raw.Pin != nil {
		up := f.Routes().Get(raw.Pin.Provider)
		if up == nil {
			return nil, nil, "", gateway.Errorf(http.StatusConflict, gateway.TypeInvalidRequest, "provider_gone",
				"the provider %q that holds this object is no longer configured", raw.Pin.Provider)
		}
		if p, m, ok := strings.Cut(model, "/"); ok && p == up.Config.Name {
			model = m
		}
		var key *provider.Key
		if raw.Pin.KeyID != "" {
			if key = up.Keys.ByID(raw.Pin.KeyID); key == nil {
				return nil, nil, "", gateway.Errorf(http.StatusConflict, gateway.TypeInvalidRequest, "key_gone",
					"the API key of provider %s that holds this object is no longer configured", up.Config.Name)
			}
		}
		return up, key, model, nil
	}
	// The first provider offering the op that the key may use: the first offering it may be one the key is
	// kept from, and then the call would be refused though another provider could serve it.
	refused := ""
	for _, up := range f.Routes().List() {
		n := up.Config.Name
		if !offers(up, req.Op, raw.Native, "") {
			continue
		}
		if req.Principal != nil && !req.Principal.AllowsProvider(n) {
			refused = n
			continue
		}
		return up, nil, "", nil
	}
	if refused != "" {
		return nil, nil, "", gateway.Errorf(http.StatusForbidden, gateway.TypePermission, "provider_not_allowed",
			"virtual key %s may not use provider %s, nor any other that offers the %s endpoint", req.Principal.ID(), refused, req.Op)
	}
	return nil, nil, "", gateway.Errorf(http.StatusNotFound, gateway.TypeNotFound, "unsupported_endpoint",
		"no configured provider offers the %s endpoint", req.Op)
}

// offers reports whether up can serve op for model (and speaks a native route's dialect).
func offers(up *gateway.Upstream, op provider.Op, native dialects.Dialect, model string) bool {
	if _, ok := up.Provider.(provider.RawSender); !ok {
		return false
	}
	if s, ok := up.Provider.(provider.OpSupporter); ok && !s.Supports(op) {
		return false
	}
	return native == "" || provider.DialectOf(up.Provider, model) == native
}

// cutUsage is what a pass-through answer cut after it began is charged: what its meter read, else its
// reservation.
func cutUsage(f *gateway.Flow) schema.Usage { return chargeCut(f.Outcome().Usage, f.Estimate()) }

func chargeCut(metered, reserved schema.Usage) schema.Usage {
	if !metered.IsZero() {
		return metered
	}
	return reserved
}
