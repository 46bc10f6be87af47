package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/telemetry"
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

// ErrForeignObject is returned by LookupObject for an object another virtual key owns: a layer must not reveal it.
var ErrForeignObject = errForeignObject

// LookupObject finds a layer's remembered object of owner (see lookupObject).
func LookupObject(ctx context.Context, s affinity.Store, kind affinity.Kind, id, owner string) (affinity.Record, error) {
	return lookupObject(ctx, s, kind, id, owner)
}

// ObjectUpstream is the provider and key a remembered object lives in, or a 409 saying which is gone; what names
// the object in it. A layer sends a request about the object there.
func (e *Engine) ObjectUpstream(rec affinity.Record, what string) (*Upstream, *provider.Key, *Error) {
	up := e.Upstream(rec.Provider)
	if up == nil {
		return nil, nil, errorf(http.StatusConflict, TypeInvalidRequest, "provider_gone",
			"%s was made by provider %q, which is no longer configured: it cannot be reached", what, rec.Provider)
	}
	if rec.KeyID == "" {
		return up, nil, nil
	}
	key := up.Keys.ByID(rec.KeyID)
	if key == nil {
		return nil, nil, errorf(http.StatusConflict, TypeInvalidRequest, "key_gone",
			"%s was made with an API key of provider %s that is no longer configured: it cannot be reached", what, up.Config.Name)
	}
	return up, key, nil
}

// ForwardObject sends call (about an object a layer remembered) to up through rs and relays the answer as the
// upstream wrote it (an error answer as an *Error carrying its body). answered, when set, sees the upstream's
// status before anything is relayed, so a layer can forget a deleted object.
func (e *Engine) ForwardObject(ctx context.Context, up *Upstream, rs provider.RawSender, call *provider.RawCall,
	w relay.Sink, answered func(status int)) (Outcome, error) {
	out := Outcome{Provider: up.Config.Name, Model: call.Model}
	if err := up.Pool.Acquire(ctx); err != nil {
		return out, poolError(up, err)
	}
	defer up.Pool.Release()
	upCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if t := up.Config.Timeout.D(); t > 0 {
		timer := time.AfterFunc(t, func() { cancel(errUpstreamTimeout) })
		defer timer.Stop()
	}
	if telemetry.TracingEnabled() {
		telemetry.InjectHeaders(ctx, call.Header) // the upstream call continues the request's span
	}
	start := time.Now()
	up.usage.requests.Add(1)
	resp, err := rs.SendRaw(upCtx, call)
	info := AttemptInfo{Provider: up.Config.Name, Model: call.Model, Latency: time.Since(start)}
	if err != nil {
		up.usage.errors.Add(1)
		ge := sendError(ctx, upCtx, up, err)
		info.Err = ge.Error()
		out.Attempts = append(out.Attempts, info)
		return out, ge
	}
	defer resp.Body.Close()
	out.Status, out.TTFB, info.Status = resp.StatusCode, time.Since(start), resp.StatusCode
	if answered != nil {
		answered(resp.StatusCode)
	}
	h := w.Header()
	h["X-Weir-Provider"] = up.nameHeader
	if resp.StatusCode >= 400 {
		up.usage.errors.Add(1)
		ge := e.upstreamError(up, dialects.OpenAI, dialects.OpenAI, &provider.Call{Key: call.Key}, resp)
		info.Err = ge.Error()
		out.Attempts = append(out.Attempts, info)
		return out, ge // the upstream's own error body, passed through
	}
	copyUpstreamHeaders(h, resp.Header)
	if ct := resp.Header["Content-Type"]; len(ct) > 0 {
		h["Content-Type"] = ct
	} else {
		h["Content-Type"] = jsonContentType
	}
	w.WriteHeader(resp.StatusCode)
	out.Committed = true
	_, err = io.Copy(w, resp.Body)
	info.Latency = time.Since(start)
	if err != nil {
		err = cut(err)
		info.Err = err.Error()
	}
	out.Attempts = append(out.Attempts, info)
	return out, err
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
	f.ess.stream, f.ess.includeUsage = false, false
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
	ess, err := parseEssentials(body)
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

// BodyWithModel is the attempt's body with its model replaced by the attempt's, for a layer's own call.
func (t *Try) BodyWithModel() []byte {
	x := t.f.x
	x.out = rewriteModel(x.out[:0], t.body, t.ess, t.model)
	return x.out
}

// Send is a layer's own upstream call in place of the core stages: it takes a worker slot, starts the attempt's
// clock and sends call (or raw, when set, through the provider's pass-through sender), with the caller's headers
// a dialect upstream should see. A failure or an error status is the attempt's error; the answer is closed
// when the attempt ends.
func (t *Try) Send(dialect dialects.Dialect, call provider.Call, raw *provider.RawCall) (*http.Response, error) {
	f := t.f
	t.dialect = dialect
	call.Header = forwardHeaders(t.req.Header, dialect)
	t.call = call
	if err := acquireWorker(f.e, f, t); err != nil {
		return nil, err
	}
	t.startClock()
	start := time.Now()
	var (
		resp *http.Response
		err  error
	)
	if raw != nil {
		rs, ok := t.up.Provider.(provider.RawSender)
		if !ok {
			return nil, errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
				"provider %s (type %s) has no pass-through sender", t.up.Config.Name, t.up.Config.Type)
		}
		resp, err = rs.SendRaw(t.upCtx, raw)
	} else {
		resp, err = t.up.Provider.Send(t.upCtx, &t.call)
	}
	if err != nil {
		return nil, sendError(t.ctx, t.upCtx, t.up, err)
	}
	t.resp = resp
	f.out.Status, f.out.TTFB = resp.StatusCode, time.Since(start)
	if resp.StatusCode >= 400 {
		return nil, f.e.upstreamError(t.up, dialects.OpenAI, t.dialect, &t.call, resp)
	}
	return resp, nil
}

// Relay writes an OpenAI JSON answer of Send as the upstream wrote it, with its headers, reading its usage.
func (t *Try) Relay(resp *http.Response) error {
	copyUpstreamHeaders(t.w.Header(), resp.Header)
	return t.f.e.relayBuffered(t.w, resp, t.f.x, dialects.OpenAI, &t.f.out)
}

// ReadAnswer reads an answer of Send, up to limit bytes, into the request's buffer, and keeps the upstream's
// headers; complete reports the whole answer was read.
func (t *Try) ReadAnswer(resp *http.Response, limit int) (buf []byte, complete bool, err error) {
	copyUpstreamHeaders(t.w.Header(), resp.Header)
	buf, complete, err = readUpTo(resp.Body, t.f.x.resp[:0], limit)
	t.f.x.resp = buf
	return buf, complete, err
}
