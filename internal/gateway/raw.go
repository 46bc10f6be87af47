package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/upload"
)

// RawRequest is a request the gateway passes through without reading it as a chat: images, audio,
// moderations, rerank, files, batches, and the providers' own routes. Governance, routing, metering and the
// request log apply to it as to chat; its body and answer are carried as they are.
type RawRequest struct {
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
	OnAnswer func(up *Upstream, key *provider.Key, answer []byte)
	// Rewrite, when set, reshapes a successful buffered JSON answer before it is written (after metering): a
	// transcription asked of the upstream as JSON, for its duration, goes back as the text the caller asked for.
	Rewrite func(answer []byte) (body []byte, contentType string)
	// TailMeter reads the usage of a successful answer that was not buffered (a native stream) from its last
	// bytes.
	TailMeter func(tail []byte) schema.Usage
	// Native, when set, limits the targets to providers speaking this dialect (a provider's own routes).
	Native dialects.Dialect
}

// Pin names the provider, and optionally the key, a call must go to.
type Pin struct {
	Provider string
	KeyID    string // provider.Key.ID; "" lets the gateway pick
}

// ServeRaw runs a pass-through request through the stages of pipeline.go: rawRequestStages, then its attempts
// with rawAttemptStages.
func (e *Engine) ServeRaw(ctx context.Context, x *Exchange, req *Request, w relay.Sink) (Outcome, error) {
	f := x.start(ctx, e, req, w)
	f.tries = rawAttemptStages[:]
	return e.run(f, rawRequestStages[:])
}

// parseRaw takes what routing needs of a pass-through request: the model as the caller named it (qualified for
// a provider-native route) and the body. The JSON body sizes admission like a chat request's; an upload or an
// empty body reserves a request and no tokens. It sets f.ess.model, f.body, f.target, f.admitModel and
// f.admitBody.
func parseRaw(e *Engine, f *Flow) *Error {
	raw := f.req.Raw
	if raw.Pin == nil && raw.Model != "" && raw.Native != "" {
		raw.Model = e.nativeModel(raw.Model, raw.Native, f.req.Principal)
	}
	f.ess.model = gjson.Result{Type: gjson.String, Str: raw.Model}
	f.body, f.target, f.admitModel = raw.Body, raw.Model, raw.Model
	if raw.Form == nil {
		f.admitBody = raw.Body
	}
	return nil
}

// planRaw plans a pass-through request like planTargets, except that a call that names no model, or is about a
// stored object, goes to one account with no fallback. It sets f.plan and f.out.Alias, or f.pinned and
// f.admitModel ("provider/model", or "" for a call naming none).
func planRaw(e *Engine, f *Flow) *Error {
	raw := f.req.Raw
	if raw.Pin == nil && raw.Model != "" {
		return planTargets(e, f)
	}
	up, key, model, gerr := e.pinned(&f.req)
	if gerr != nil {
		return gerr
	}
	f.pinned = pinnedTarget{up: up, key: key, model: model}
	f.admitModel = ""
	if model != "" {
		f.admitModel = up.Config.Name + "/" + model
	}
	return nil
}

// nativeModel qualifies a bare model on a provider-native route (the provider's SDK knows no Weir prefixes):
// unless it is an alias, "provider/model", or listed by a provider, it goes to the first provider (by name) of
// the route's dialect that the key may use.
func (e *Engine) nativeModel(model string, d dialects.Dialect, p *governance.Principal) string {
	if e.router.Has(model) {
		return model
	}
	if p, m, ok := strings.Cut(model, "/"); ok && m != "" && e.Upstream(p) != nil {
		return model
	}
	if _, _, gerr := e.resolve(model); gerr == nil {
		return model
	}
	for _, up := range e.routes().list {
		if n := up.Config.Name; up.Provider.Dialect() == d && (p == nil || p.AllowsProvider(n)) {
			return n + "/" + model
		}
	}
	return model
}

// pinned finds the provider and key of a call that names no model or is pinned to an account.
func (e *Engine) pinned(req *Request) (*Upstream, *provider.Key, string, *Error) {
	raw := req.Raw
	model := raw.Model
	if raw.Pin != nil {
		up := e.Upstream(raw.Pin.Provider)
		if up == nil {
			return nil, nil, "", errorf(http.StatusConflict, TypeInvalidRequest, "provider_gone",
				"the provider %q that holds this object is no longer configured", raw.Pin.Provider)
		}
		if p, m, ok := strings.Cut(model, "/"); ok && p == up.Config.Name {
			model = m
		}
		var key *provider.Key
		if raw.Pin.KeyID != "" {
			if key = up.Keys.ByID(raw.Pin.KeyID); key == nil {
				return nil, nil, "", errorf(http.StatusConflict, TypeInvalidRequest, "key_gone",
					"the API key of provider %s that holds this object is no longer configured", up.Config.Name)
			}
		}
		return up, key, model, nil
	}
	// The first provider offering the op that the key may use: the first offering it may be one the key is
	// kept from, and then the call would be refused though another provider could serve it.
	refused := ""
	for _, up := range e.routes().list {
		n := up.Config.Name
		if !e.offers(up, req, "") {
			continue
		}
		if req.Principal != nil && !req.Principal.AllowsProvider(n) {
			refused = n
			continue
		}
		return up, nil, "", nil
	}
	if refused != "" {
		return nil, nil, "", errorf(http.StatusForbidden, TypePermission, "provider_not_allowed",
			"virtual key %s may not use provider %s, nor any other that offers the %s endpoint", req.Principal.ID(), refused, req.Op)
	}
	return nil, nil, "", errorf(http.StatusNotFound, TypeNotFound, "unsupported_endpoint",
		"no configured provider offers the %s endpoint", req.Op)
}

// offers reports whether up can serve a raw request's op for model (and speaks a native route's dialect).
func (e *Engine) offers(up *Upstream, req *Request, model string) bool {
	if _, ok := up.Provider.(provider.RawSender); !ok {
		return false
	}
	if s, ok := up.Provider.(provider.OpSupporter); ok && !s.Supports(req.Op) {
		return false
	}
	return req.Raw.Native == "" || provider.DialectOf(up.Provider, model) == req.Raw.Native
}

// Resolve maps "provider/model", or a bare model that one provider lists, to the provider and its model id.
func (e *Engine) Resolve(name string) (*Upstream, string, *Error) { return e.resolve(name) }

// routeRaw checks that the target offers the pass-through request's operation (and speaks a native route's
// dialect), and picks its key. It sets t.raw, t.dialect and t.key.
func routeRaw(e *Engine, f *Flow, t *Try) error {
	req, up, model := &f.req, t.up, t.model
	t.dialect = provider.DialectOf(up.Provider, model)
	if native := req.Raw.Native; native != "" && t.dialect != native {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) serves %s in the %s dialect, not on the provider-native %s route", up.Config.Name, up.Config.Type, model, t.dialect, native)
	}
	if !e.offers(up, req, model) {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) does not offer the %s endpoint", up.Config.Name, up.Config.Type, req.Op)
	}
	t.raw = up.Provider.(provider.RawSender)
	if t.key == nil {
		t.key = up.Keys.Pick(model)
		if up.Keys.Len() > 0 && t.key == nil {
			return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
				"no key of provider %s is allowed to use model %q", up.Config.Name, model)
		}
	}
	return nil
}

// encodeRaw builds the pass-through call: the path (with a native route's model), and the body as it came with
// its model rewritten (an upload re-encoded). It sets t.rawCall.
func encodeRaw(_ *Engine, f *Flow, t *Try) error {
	req, x, raw, model := &f.req, f.x, f.req.Raw, t.model
	path := raw.Path
	if strings.Contains(path, "{model}") {
		path = strings.ReplaceAll(path, "{model}", url.PathEscape(model)) // a native route names the model in its path
	}
	call := &t.rawCall
	*call = provider.RawCall{Op: req.Op, Method: raw.Method, Path: path, RawQuery: raw.RawQuery, Model: model,
		Header: raw.Header, Key: t.key}
	switch {
	case raw.Form != nil:
		if model != "" && raw.Form.Value("model") != "" {
			raw.Form.Set("model", model)
		}
		body, ct, n := raw.Form.Body()
		call.Body, call.ContentLength = body, n
		call.Header = http.Header{"Content-Type": {ct}}
		for k, v := range raw.Header {
			if k != "Content-Type" {
				call.Header[k] = v
			}
		}
	case len(raw.Body) > 0:
		body := raw.Body
		if model != "" && gjson.GetBytes(body, "model").Type == gjson.String {
			body, _ = sjson.SetBytes(append(x.out[:0], raw.Body...), "model", model)
			x.out = body
		}
		call.Body, call.ContentLength = bytes.NewReader(body), int64(len(body))
	}
	return nil
}

// sendRaw sends the pass-through call. An upload's timeout starts once its last byte is sent; once the answer
// has come, a long one (audio, a file) is bounded by the idle timeout instead. It sets t.resp, f.out.Status and
// f.out.TTFB.
func sendRaw(e *Engine, f *Flow, t *Try) error {
	up, call := t.up, &t.rawCall
	if f.req.Raw.Form != nil {
		t.startUploadClock()
	} else {
		t.startClock()
	}
	start := time.Now()
	resp, err := t.raw.SendRaw(t.upCtx, call)
	if err != nil {
		return sendError(t.ctx, t.upCtx, up, err)
	}
	t.resp = resp
	f.out.Status = resp.StatusCode
	f.out.TTFB = time.Since(start)
	if resp.StatusCode >= 400 {
		return e.upstreamError(up, f.req.Dialect, t.dialect, &provider.Call{Key: t.key}, resp)
	}
	if t.upload != nil {
		t.upload.stop()
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	return nil
}

// relayRawAnswer relays the pass-through answer (relayRaw), read through the idle timeout.
func relayRawAnswer(e *Engine, f *Flow, t *Try) error {
	src := io.Reader(t.resp.Body)
	if idle := t.up.Config.StreamIdleTimeout.D(); idle > 0 {
		cancel := t.cancel
		t.idle = newIdleReader(t.resp.Body, idle, func() { cancel(errStreamIdle) })
		src = t.idle
	}
	return e.relayRaw(t.w, t.resp, src, f.x, &f.req, t.up, t.key, &f.out)
}

// relayRaw writes a raw answer: a JSON one is read whole (up to a bound) so its usage and ids can be read; any
// other (audio, a file's content, a stream) goes through as it arrives, flushed chunk by chunk.
func (e *Engine) relayRaw(w relay.Sink, resp *http.Response, src io.Reader, x *Exchange, req *Request, up *Upstream,
	key *provider.Key, out *Outcome) error {
	raw := req.Raw
	h := w.Header()
	copyUpstreamHeaders(h, resp.Header)
	for _, k := range []string{"Content-Type", "Content-Disposition"} {
		if v := resp.Header[k]; len(v) > 0 {
			h[k] = v
		}
	}
	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/json") {
		buf, complete, err := readUpTo(src, x.resp[:0], maxRawAnswer)
		x.resp = buf
		if err != nil {
			return errorf(http.StatusBadGateway, TypeAPI, "upstream_read_error", "reading the answer of provider %s: %s", up.Config.Name, err)
		}
		if complete {
			if raw.Meter != nil {
				out.Usage = raw.Meter(raw.Body, buf)
			}
			if out.Usage.IsZero() {
				out.Usage = headerUsage(resp.Header)
			}
			if raw.OnAnswer != nil {
				raw.OnAnswer(up, key, buf)
			}
			if raw.Rewrite != nil {
				var ct string
				buf, ct = raw.Rewrite(buf)
				h["Content-Type"] = []string{ct}
			}
		}
		w.WriteHeader(resp.StatusCode)
		out.Committed = true
		if _, err := w.Write(buf); err != nil || complete {
			return err
		}
	} else {
		if raw.Meter != nil {
			out.Usage = raw.Meter(raw.Body, nil)
		}
		if out.Usage.IsZero() {
			out.Usage = headerUsage(resp.Header)
		}
		w.WriteHeader(resp.StatusCode)
		out.Committed = true
	}
	var tail *tailWriter
	dst := io.Writer(w)
	if raw.TailMeter != nil {
		tail = &tailWriter{w: w, keep: 64 << 10}
		dst = tail
	}
	buf := x.resp[:cap(x.resp)]
	if len(buf) < 32<<10 {
		buf = make([]byte, 32<<10)
		x.resp = buf[:0]
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			if ferr := w.Flush(); ferr != nil {
				return ferr
			}
		}
		if err != nil && tail != nil {
			// A stream cut short still reports what it counted so far (Gemini's usage is cumulative).
			if u := raw.TailMeter(tail.tail); err == io.EOF || !u.IsZero() {
				out.Usage = u
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return cut(err)
		}
	}
}

// maxRawAnswer bounds a pass-through JSON answer read whole to meter it: generated images come back base64 in
// the answer (1–2 MiB each), and ten of them must still be counted. Larger answers go through unmetered.
const maxRawAnswer = 64 << 20

// headerUsage reads the token counts Bedrock's InvokeModel puts in headers, the only place they are for models
// whose own answer carries none (Titan, Llama, Mistral).
func headerUsage(h http.Header) schema.Usage {
	in, _ := strconv.ParseInt(h.Get("X-Amzn-Bedrock-Input-Token-Count"), 10, 64)
	out, _ := strconv.ParseInt(h.Get("X-Amzn-Bedrock-Output-Token-Count"), 10, 64)
	return schema.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
}

// startUploadClock is startClock for an upload, which may take longer than the timeout to send: the clock
// starts when its last byte is sent. It sets t.upCtx, t.cancel, t.upload and wraps t.rawCall.Body.
func (t *Try) startUploadClock() {
	upCtx, cancel := context.WithCancelCause(t.ctx)
	t.upCtx, t.cancel = upCtx, cancel
	timeout := t.timeout
	if timeout <= 0 {
		timeout = t.up.Config.Timeout.D()
	}
	if timeout <= 0 {
		return
	}
	t.upload = &uploadClock{d: timeout, t: time.AfterFunc(time.Hour, func() { cancel(errUpstreamTimeout) })}
	t.upload.t.Stop()
	t.rawCall.Body = &eofReader{r: t.rawCall.Body, eof: t.upload.start}
}

// uploadClock is an upstream timeout that starts once an upload has been sent, and never after the answer came.
type uploadClock struct {
	mu      sync.Mutex
	t       *time.Timer
	d       time.Duration
	stopped bool
}

func (c *uploadClock) start() {
	c.mu.Lock()
	if !c.stopped {
		c.t.Reset(c.d)
	}
	c.mu.Unlock()
}

func (c *uploadClock) stop() {
	c.mu.Lock()
	c.stopped = true
	c.t.Stop()
	c.mu.Unlock()
}

// eofReader calls eof once, when r is read to its end.
type eofReader struct {
	r    io.Reader
	eof  func()
	done bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		e.eof()
	}
	return n, err
}
