package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/router"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// Outcome describes how a served request went, for logs, metrics and accounting.
type Outcome struct {
	Alias    string // the alias the caller named, if any
	Provider string // the provider that answered (or failed last)
	Model    string // upstream model
	Status   int
	Stream   bool
	Usage    schema.Usage
	// Attempts lists every upstream call made, in order.
	Attempts []AttemptInfo
	// Committed is true once any byte of the answer was written to the caller.
	Committed bool
	TTFB      time.Duration
	// Text counts the bytes of generated text a stream relayed: a stream cut before its usage report is charged
	// for them (see cutUsage).
	Text int64
}

// AttemptInfo is one upstream call of a request.
type AttemptInfo struct {
	Provider string
	Model    string
	Status   int // 0: no answer (connection error, timeout)
	Latency  time.Duration
	Err      string
}

// Serve runs one request to completion, writing the answer to w. A returned *Error means nothing was written
// yet and the caller should be sent that error; any other error happened after the answer began (the stream was
// cut) and has already been reported to the caller in-stream where the dialect allows.
func (e *Engine) Serve(ctx context.Context, x *Exchange, req *Request, w relay.Sink) (Outcome, error) {
	out := Outcome{Attempts: x.attempts[:0]}
	ess, err := parseEssentials(req.Body)
	if err != nil {
		return out, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	out.Stream = ess.stream
	body := req.Body
	fallbacks := requestFallbacks(&ess, req.Header)
	if ess.fallbacks.Exists() {
		// "fallbacks" is Weir's own field: upstreams reject fields they do not know.
		body, _ = sjson.DeleteBytes(body, "fallbacks")
		if ess, err = parseEssentials(body); err != nil {
			return out, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
		}
	}
	plan, gerr := e.planRequest(ctx, req, body, ess.model.Str, fallbacks)
	if gerr != nil {
		return out, gerr
	}
	if e.router.Has(ess.model.Str) {
		out.Alias = strings.Clone(ess.model.Str) // outlives the request buffer (logs, metrics)
	}
	h := w.Header()
	adm, gerr := e.admit(ctx, req.Principal, ess.model.Str, body, h)
	if gerr != nil {
		return out, gerr
	}
	out, err = e.serveAttempts(ctx, x, req, body, &ess, plan, w, out)
	adm.settle(err == nil, out.Provider+"/"+out.Model, out.Usage)
	return out, err
}

// serveAttempts walks the plan: each target in order, with retries and backoff, until one answers.
func (e *Engine) serveAttempts(ctx context.Context, x *Exchange, req *Request, body []byte, ess *essentials, plan *router.Plan,
	w relay.Sink, out Outcome) (Outcome, error) {
	h := w.Header()
	var last error
	var gate targetGate
	a, ok := plan.Next(router.Outcome{})
	for ok {
		if a.Delay > 0 {
			if err := router.Wait(ctx, a.Delay); err != nil {
				return out, clientGone(err)
			}
		}
		up := e.upstreams[a.Target.Provider]
		if up == nil { // a "provider/model" fallback naming no provider
			last = errorf(http.StatusNotFound, TypeNotFound, "model_not_found", "no provider named %q is configured", a.Target.Provider)
			a, ok = plan.Next(router.Outcome{Decision: router.NextTarget})
			continue
		}
		out.Provider, out.Model = up.Config.Name, a.Target.Model
		h["X-Weir-Provider"] = up.nameHeader
		setModelHeader(h, a.Target.Model)
		h["X-Weir-Attempts"] = attemptsHeader(len(out.Attempts) + 1)
		start := time.Now()
		a.Begin()
		if req.Principal != nil && !req.Principal.AllowsProvider(up.Config.Name) {
			last = errorf(http.StatusForbidden, TypePermission, "provider_not_allowed",
				"virtual key %s may not use provider %s", req.Principal.ID(), up.Config.Name)
			a.Cancel() // not the target's fault; also gives back a half-open probe's lease
			a, ok = plan.Next(router.Outcome{Decision: router.NextTarget})
			continue
		}
		// The target's own budget and limits (its provider's, and the key's for that provider): over one, it
		// is skipped and the 429 kept in case no other target serves.
		tres, gerr := e.reserveTarget(&gate, req, body, ess.model.Str, up, a.Target.Model)
		if gerr != nil {
			last = gerr
			a.Cancel()
			a, ok = plan.Next(router.Outcome{Decision: router.NextTarget})
			continue
		}
		actx, span := telemetry.StartAttempt(ctx, up.Config.Type, a.Target.Model)
		err := e.attempt(actx, x, req, body, ess, up, a.Target.Model, a.Timeout, w, &out)
		if err != nil && out.Committed {
			out.Usage = cutUsage(req, body, &out)
		}
		e.settleTarget(tres, up, a.Target.Model, &out, err)
		telemetry.EndAttempt(span, telemetry.SpanResult{Provider: up.Config.Type, ResponseModel: a.Target.Model,
			InputTokens: out.Usage.PromptTokens, OutputTokens: out.Usage.CompletionTokens, Status: out.Status, Err: err})
		info := AttemptInfo{Provider: up.Config.Name, Model: a.Target.Model, Status: out.Status, Latency: time.Since(start)}
		up.usage.requests.Add(1)
		if err == nil {
			a.End(out.TTFB, true, out.Status, 0)
			out.Attempts = append(out.Attempts, info)
			up.usage.prompt.Add(out.Usage.PromptTokens)
			up.usage.completion.Add(out.Usage.CompletionTokens)
			return out, nil
		}
		up.usage.errors.Add(1)
		info.Err = err.Error()
		out.Attempts = append(out.Attempts, info)
		if out.Committed {
			a.End(out.TTFB, false, out.Status, 0)
			return out, err
		}
		last = err
		ge, _ := err.(*Error)
		if ge == nil {
			a.End(0, false, 0, 0)
			return out, err
		}
		if ge.Status == 499 || ctx.Err() != nil {
			a.Cancel()
			return out, ge
		}
		status, cause := ge.Status, error(nil)
		if !ge.upstream && (ge.Status == http.StatusBadGateway || ge.Status == http.StatusGatewayTimeout) {
			status, cause = 0, ge // no upstream answer: a connection error or a timeout
		}
		if ge.Code == "queue_full" || ge.Code == "queue_timeout" {
			status, cause = 0, ge
		}
		a.End(0, false, ge.Status, ge.RetryAfter)
		dec := router.Classify(status, cause, errorBodyForClassify(ge))
		if !ge.upstream && ge.Status < 500 && ge.Status != http.StatusTooManyRequests {
			dec = router.NextTarget // the gateway's own refusal for this target (unsupported endpoint, no key)
		}
		a, ok = plan.Next(router.Outcome{Decision: dec, RetryAfter: ge.RetryAfter})
	}
	if last == nil {
		last = errorf(http.StatusServiceUnavailable, TypeAPI, "no_target", "no target of model %q could be tried", ess.model.Str)
	}
	return out, last
}

// planRequest resolves a request's plan. A Responses request that continues a response Weir passed through is
// planned on the provider and model that hold that response, with no fallback: only that account has it.
func (e *Engine) planRequest(ctx context.Context, req *Request, body []byte, model string, fallbacks []string) (*router.Plan, *Error) {
	if req.Op == provider.OpResponses || req.Op == OpInputTokens {
		pin, gerr := e.pinResponse(ctx, req, body)
		if gerr != nil {
			return nil, gerr
		}
		req.pin = pin
		if pin != nil && pin.model != "" {
			model, fallbacks = pin.up.Config.Name+"/"+pin.model, nil
		}
	}
	return e.plan(model, fallbacks)
}

// plan resolves the requested model through the router; a bare model name listed by exactly one provider is
// accepted as that provider's.
func (e *Engine) plan(model string, fallbacks []string) (*router.Plan, *Error) {
	name := model
	if !e.router.Has(name) {
		if prov, m, ok := strings.Cut(name, "/"); !ok || e.upstreams[prov] == nil || m == "" {
			up, bare, gerr := e.resolve(name)
			if gerr != nil {
				return nil, gerr
			}
			name = up.Config.Name + "/" + bare
		}
	}
	p, err := e.router.Plan(name, fallbacks)
	if err != nil {
		if errors.Is(err, router.ErrUnknownModel) {
			return nil, errorf(http.StatusNotFound, TypeNotFound, "model_not_found", "%s", err.Error())
		}
		return nil, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_fallbacks", "%s", err.Error())
	}
	return p, nil
}

// requestFallbacks reads per-request fallbacks from the body's "fallbacks" array or the x-weir-fallbacks header.
func requestFallbacks(ess *essentials, h http.Header) []string {
	var out []string
	for _, f := range ess.fallbacks.Array() {
		if s := f.String(); s != "" {
			out = append(out, s)
		}
	}
	if v := h.Get("X-Weir-Fallbacks"); v != "" {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func errorBodyForClassify(ge *Error) []byte {
	if ge.Raw != nil {
		return ge.Raw
	}
	return []byte(ge.Type + " " + ge.Code + " " + ge.Message)
}

var attemptHeaders = func() [][]string {
	hs := make([][]string, 16)
	for i := range hs {
		hs[i] = []string{strconv.Itoa(i)}
	}
	return hs
}()

func attemptsHeader(n int) []string {
	if n < len(attemptHeaders) {
		return attemptHeaders[n]
	}
	return []string{strconv.Itoa(n)}
}

var (
	errUpstreamTimeout = errors.New("upstream timed out")
	errStreamIdle      = errors.New("upstream stream stalled")
	sseContentType     = []string{"text/event-stream"}
	noCache            = []string{"no-cache"}
	no                 = []string{"no"}
)

// relayBuffered reads a JSON answer (up to a bound) to find its usage, then writes it. An answer larger than the
// bound is streamed through and its usage read from its tail.
func (e *Engine) relayBuffered(w relay.Sink, resp *http.Response, x *Exchange, dialect dialects.Dialect, out *Outcome) error {
	usageOf := relay.OpenAIUsage
	if dialect == dialects.Anthropic {
		usageOf = relay.AnthropicUsage
	}
	buf, complete, err := readUpTo(resp.Body, x.resp[:0], maxBufferedAnswer)
	x.resp = buf
	if err != nil {
		return sendError(context.Background(), context.Background(), nil, err)
	}
	h := w.Header()
	if ct := resp.Header["Content-Type"]; len(ct) > 0 {
		h["Content-Type"] = ct
	} else {
		h["Content-Type"] = jsonContentType
	}
	if complete {
		out.Usage = usageOf(buf)
		w.WriteHeader(resp.StatusCode)
		out.Committed = true
		_, err = w.Write(buf)
		return err
	}
	w.WriteHeader(resp.StatusCode)
	out.Committed = true
	if _, err := w.Write(buf); err != nil {
		return err
	}
	tail := &tailWriter{w: w, keep: 64 << 10}
	tail.remember(buf)
	if _, err := io.Copy(tail, resp.Body); err != nil {
		return cut(err) // a JSON body has no way to say it was cut
	}
	out.Usage = usageOf(tail.usageObject())
	return nil
}

const maxBufferedAnswer = 4 << 20

var jsonContentType = []string{"application/json"}

// readUpTo appends from r to buf until EOF or limit bytes; complete reports EOF was reached.
func readUpTo(r io.Reader, buf []byte, limit int) ([]byte, bool, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

func poolError(up *Upstream, err error) *Error {
	switch {
	case errors.Is(err, dispatch.ErrQueueFull):
		return &Error{Status: http.StatusTooManyRequests, Type: TypeOverloaded, Code: "queue_full", RetryAfter: time.Second,
			Message: fmt.Sprintf("the gateway's queue for provider %s is full; retry shortly", up.Config.Name)}
	case errors.Is(err, dispatch.ErrQueueTimeout):
		return &Error{Status: http.StatusServiceUnavailable, Type: TypeOverloaded, Code: "queue_timeout", RetryAfter: time.Second,
			Message: fmt.Sprintf("no worker for provider %s became free in time; retry shortly", up.Config.Name)}
	default:
		return clientGone(err)
	}
}

// ErrAnswerCut marks an answer that broke after its first bytes reached the caller in a body with no in-band way
// to say so (audio, a file's content, a provider-native stream, a large JSON answer): the caller's response must
// be aborted, not ended, or the truncated body would look complete.
var ErrAnswerCut = errors.New("the answer was cut")

func cut(err error) error { return fmt.Errorf("%w: %w", ErrAnswerCut, err) }

// cutUsage is what an answer that had begun and then broke (the caller went away, or the upstream did) is
// charged: the upstream bills the prompt and the output it generated, finished or not. A chat stream's usage
// report, when it came, is completed with the prompt estimate and with the output counted from the text relayed
// (about four bytes a token); a pass-through answer whose usage could not be read is charged its reservation.
// Never zero: a cut stream would otherwise cost nothing.
func cutUsage(req *Request, body []byte, out *Outcome) schema.Usage {
	u := out.Usage
	if req.Raw != nil {
		if !u.IsZero() {
			return u
		}
		if req.Raw.Form != nil {
			body = nil // as admitRaw sized the reservation
		}
		prompt, maxOut := tokenEstimate(body)
		return schema.Usage{PromptTokens: prompt, CompletionTokens: maxOut, TotalTokens: prompt + maxOut}
	}
	if u.PromptTokens == 0 {
		u.PromptTokens, _ = tokenEstimate(body)
	}
	if est := (out.Text + 3) / 4; est > u.CompletionTokens {
		u.CompletionTokens = est
	}
	u.TotalTokens = max(u.TotalTokens, u.PromptTokens+u.CompletionTokens)
	return u
}

func clientGone(err error) *Error {
	return &Error{Status: 499, Type: TypeInvalidRequest, Code: "client_closed_request", Message: "the caller went away: " + err.Error()}
}

// sendError maps a failure to get an upstream answer to 499 (caller gone), 504 (timeout) or 502 (unreachable).
func sendError(ctx, upCtx context.Context, up *Upstream, err error) *Error {
	name := "upstream"
	if up != nil {
		name = "provider " + up.Config.Name
	}
	if ctx.Err() != nil {
		return clientGone(ctx.Err())
	}
	var ne net.Error
	if errors.Is(context.Cause(upCtx), errUpstreamTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return errorf(http.StatusGatewayTimeout, TypeTimeout, "upstream_timeout", "%s did not answer in time", name)
	}
	return errorf(http.StatusBadGateway, TypeAPI, "upstream_unreachable", "%s could not be reached: %s", name, stripURL(err))
}

// stripURL drops the request URL from a *url.Error message: it may carry an API key in a query string.
func stripURL(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil && strings.HasPrefix(err.Error(), "Post ") {
			return inner.Error()
		}
	}
	return err.Error()
}

// copyUpstreamHeaders keeps the upstream headers a caller may rely on: request ids and rate-limit state.
func copyUpstreamHeaders(dst, src http.Header) {
	for k, v := range src {
		if strings.HasPrefix(k, "X-Ratelimit-") || k == "X-Request-Id" || k == "Openai-Processing-Ms" || k == "Request-Id" {
			dst[k] = v
		}
	}
}

// resolve maps "provider/model" to an upstream and the upstream's model id.
func (e *Engine) resolve(name string) (*Upstream, string, *Error) {
	prov, model, ok := strings.Cut(name, "/")
	if ok {
		if up := e.upstreams[prov]; up != nil && model != "" {
			return up, model, nil
		}
	}
	// A bare model name is served by the one provider that lists it.
	var found *Upstream
	for _, n := range e.names {
		up := e.upstreams[n]
		for _, m := range up.Config.Models {
			if m == name {
				if found != nil {
					return nil, "", errorf(http.StatusBadRequest, TypeInvalidRequest, "ambiguous_model",
						"model %q is served by providers %s and %s: name it as provider/model", name, found.Config.Name, n)
				}
				found = up
			}
		}
	}
	if found != nil {
		return found, name, nil
	}
	if ok {
		return nil, "", errorf(http.StatusNotFound, TypeNotFound, "model_not_found",
			"model %q: no provider named %q is configured (configured: %s)", name, prov, strings.Join(e.names, ", "))
	}
	return nil, "", errorf(http.StatusNotFound, TypeNotFound, "model_not_found",
		"model %q not found: name it as provider/model (configured providers: %s)", name, strings.Join(e.names, ", "))
}
