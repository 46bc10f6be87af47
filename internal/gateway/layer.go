package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/reqbody"
	"github.com/weir-gateway/weir/internal/schema"
)

// The layer API: what an operation that needs more than the core (the Responses API, internal/gateway/responses)
// adds around it, and the few parts of a request's Flow and an attempt's Try it may read or change. The core
// knows no layer; an engine serves an operation through one once Engine.Use names it.

// Layer is what an operation adds around the core pipeline. Any of its steps may be nil.
type Layer struct {
	// Prepare runs as the "layer" stage, after parse and before plan. It may retarget the request
	// (Flow.Retarget), keep an account for its attempts (Flow.SetPin) or make it a count (Flow.CountOnly).
	Prepare func(e *Engine, f *Flow) *Error
	// Attempt serves one attempt in place of the core stages, which Try.Run runs: before them it may move the
	// attempt (Try.MoveTo, Try.SetKey) and rewrite what is sent and where the answer goes (Try.SendAs,
	// Try.SetSink); after them it may keep what came back. Or it makes its own call (Try.Send).
	Attempt func(e *Engine, f *Flow, t *Try) error
	// Finish runs once the attempts are over, before the request is settled. It may change f.Outcome().
	Finish func(f *Flow)
}

// Use makes the engine serve op through l. Call it before serving: the layers are read without a lock.
func (e *Engine) Use(op provider.Op, l *Layer) {
	if e.layers == nil {
		e.layers = make(map[provider.Op]*Layer)
	}
	e.layers[op] = l
}

// Logger is the engine's logger, for a layer's own failures.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Errorf builds an *Error, for a layer's refusals.
func Errorf(status int, typ, code, format string, a ...any) *Error {
	return errorf(status, typ, code, format, a...)
}

// Account is a provider account: where a layer keeps the request's attempts (an object it passed through lives
// there).
type Account struct {
	Up    *Upstream
	Key   *provider.Key // nil: the provider has no keys
	Model string
}

// Ctx is the request's context, for a layer's lookups before any attempt.
func (f *Flow) Ctx() context.Context { return f.ctx }

// Request is the caller's request (its principal, headers and body as sent).
func (f *Flow) Request() *Request { return &f.req }

// Body is the body sent on: the caller's, less Weir's own fields.
func (f *Flow) Body() []byte { return f.body }

// Outcome is what the request returns; a layer that writes the answer itself sets its usage and Committed.
func (f *Flow) Outcome() *Outcome { return &f.out }

// Retarget plans the request on target alone ("provider/model"), with no fallback: only that account will do.
func (f *Flow) Retarget(target string) { f.target, f.fallbacks = target, nil }

// SetPin keeps an account for the layer's attempts; the core never reads it, and it costs no allocation.
func (f *Flow) SetPin(a Account) { f.pin = a }

// Pin is the account SetPin kept; its Up is nil when none was.
func (f *Flow) Pin() Account { return f.pin }

// CountOnly makes the request a count: answered unstreamed, and admitted without tokens or cost.
func (f *Flow) CountOnly() {
	f.ess.Stream, f.ess.IncludeUsage = false, false
	f.out.Stream = false
	f.adm.countOnly = true
}

// Ctx is the attempt's context, carrying its span.
func (t *Try) Ctx() context.Context { return t.ctx }

// Upstream is the provider the attempt goes to.
func (t *Try) Upstream() *Upstream { return t.up }

// Model is the upstream model the attempt asks for.
func (t *Try) Model() string { return t.model }

// Key is the key the attempt uses; nil until one is picked.
func (t *Try) Key() *provider.Key { return t.key }

// SetKey makes the attempt use k (nil: the core picks one by weight).
func (t *Try) SetKey(k *provider.Key) { t.key = k }

// Body is the body the attempt sends on, before the model is rewritten.
func (t *Try) Body() []byte { return t.body }

// Sink is where the attempt's answer goes.
func (t *Try) Sink() relay.Sink { return t.w }

// SetSink sends the attempt's answer to w instead (a layer's translator or buffer).
func (t *Try) SetSink(w relay.Sink) { t.w = w }

// MoveTo moves the attempt to model on up, whatever the router chose, naming them in the answer's headers and
// the outcome. An empty model keeps the attempt's.
func (t *Try) MoveTo(up *Upstream, model string) {
	t.up = up
	if model != "" {
		t.model = model
	}
	t.f.out.Provider, t.f.out.Model = up.Config.Name, t.model
	h := t.w.Header()
	h["X-Weir-Provider"] = up.nameHeader
	setModelHeader(h, t.model)
}

// SendAs makes the core stages send body as an op request of dialect in place of the caller's (a translation).
func (t *Try) SendAs(op provider.Op, dialect dialects.Dialect, body []byte) *Error {
	f := t.f
	ess, err := reqbody.Parse(body)
	if err != nil {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	f.altEss, f.altReq = ess, f.req
	f.altReq.Op, f.altReq.Dialect, f.altReq.Body = op, dialect, body
	t.req, t.body, t.ess = &f.altReq, body, &f.altEss
	return nil
}

// Run runs the core attempt stages on t.
func (t *Try) Run() error { return t.f.e.runAttempt(t.f, t) }

// Send is a layer's own upstream call in place of the core's encode and send stages, after Acquire: call, with
// the caller headers an upstream of dialect d should see, under the attempt's clock. A failure or an error
// status is the attempt's error; the answer is closed when the attempt ends.
func (t *Try) Send(d dialects.Dialect, call provider.Call) (*http.Response, error) {
	t.dialect = d
	call.Header = provider.ForwardHeaders(t.req.Header, d)
	t.call = call
	if err := sendCall(t.f.e, t.f, t); err != nil {
		return nil, err
	}
	return t.resp, nil
}

// SendRaw is Send through the provider's pass-through sender: call goes as it is. An upload's clock starts once
// its last byte is sent.
func (t *Try) SendRaw(d dialects.Dialect, call *provider.RawCall, upload bool) (*http.Response, error) {
	rs, ok := t.up.Provider.(provider.RawSender)
	if !ok {
		return nil, errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) has no pass-through sender", t.up.Config.Name, t.up.Config.Type)
	}
	t.dialect = d
	if upload {
		t.startUploadClock(call)
	} else {
		t.startClock()
	}
	start := time.Now()
	resp, err := rs.SendRaw(t.upCtx, call)
	if err := t.received(resp, err, start, call.Key); err != nil {
		return nil, err
	}
	return resp, nil
}

// State is what the flow's pipeline keeps of its own: the value given to Engine.Run.
func (f *Flow) State() any { return f.state }

// Exchange holds the request's reusable buffers.
func (f *Flow) Exchange() *Exchange { return f.x }

// Routes is the provider set the request arrived with: its attempts go to these providers.
func (f *Flow) Routes() *providerset.Set[*Upstream] { return f.rt }

// SetParsed is a pipeline's own parse: the model as the caller named it (what Plan resolves, the allow-list and
// admission see), the body sent on, and the body that sizes the reservation (nil: a request and no tokens).
func (f *Flow) SetParsed(model string, body, admitBody []byte) {
	f.ess.Model = gjson.Result{Type: gjson.String, Str: model}
	f.body, f.target, f.admitModel, f.admitBody = body, model, model, admitBody
}

// PlanOne plans the request on one account, in place of Plan: one attempt there, no fallback, no retry. key nil
// lets the attempt pick one; model "" is a call that names none.
func (f *Flow) PlanOne(up *Upstream, key *provider.Key, model string) {
	f.pinned = pinnedTarget{up: up, key: key, model: model}
	f.admitModel = ""
	if model != "" {
		f.admitModel = up.Config.Name + "/" + model
	}
}

// Estimate is the usage the request's reservation was sized for: its prompt and its most output.
func (f *Flow) Estimate() schema.Usage {
	prompt, maxOut := reqbody.TokenEstimate(f.admitBody)
	return schema.Usage{PromptTokens: prompt, CompletionTokens: maxOut, TotalTokens: prompt + maxOut}
}
