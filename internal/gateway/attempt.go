package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/telemetry"
	"github.com/weir-gateway/weir/internal/translate"
)

// attempt sends the request to one upstream and relays its answer. When the upstream speaks the caller's
// dialect the body goes through untouched but for the model; otherwise it is translated both ways.
func (e *Engine) attempt(ctx context.Context, x *Exchange, req *Request, reqBody []byte, ess *essentials, up *Upstream,
	model string, timeout time.Duration, w relay.Sink, out *Outcome) error {
	out.Status, out.Text = 0, 0
	if req.Raw != nil {
		return e.attemptRaw(ctx, x, req, up, model, nil, timeout, w, out)
	}
	if req.Op == provider.OpResponses || req.Op == OpInputTokens {
		return e.attemptResponsesOp(ctx, x, req, reqBody, ess, up, model, timeout, w, out)
	}
	return e.attemptKey(ctx, x, req, reqBody, ess, up, model, nil, timeout, w, out)
}

// attemptKey is attempt with the upstream key to use (nil: a weighted pick among the provider's keys); a
// Responses request whose previous response Weir passed through goes back with the key that made it.
func (e *Engine) attemptKey(ctx context.Context, x *Exchange, req *Request, reqBody []byte, ess *essentials, up *Upstream,
	model string, key *provider.Key, timeout time.Duration, w relay.Sink, out *Outcome) error {
	dialect := provider.DialectOf(up.Provider, model)
	translated := dialect != req.Dialect
	callOp, gerr := upstreamOp(req, up, dialect)
	if gerr != nil {
		return gerr
	}
	if err := up.Pool.Acquire(ctx); err != nil {
		return poolError(up, err)
	}
	defer up.Pool.Release()

	body, gerr := e.upstreamBody(x, req, reqBody, ess, up, dialect, model)
	if gerr != nil {
		return gerr
	}
	if key == nil {
		key = up.Keys.Pick(model)
	}
	call := provider.Call{Op: callOp, Model: model, Body: body, Stream: ess.stream, Key: key}
	if up.Keys.Len() > 0 && call.Key == nil {
		return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"no key of provider %s is allowed to use model %q", up.Config.Name, model)
	}
	call.Header = forwardHeaders(req.Header, dialect)
	if telemetry.TracingEnabled() {
		if call.Header == nil {
			call.Header = http.Header{}
		}
		telemetry.InjectHeaders(ctx, call.Header) // the upstream call continues this attempt's span
	}

	upCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if timeout <= 0 {
		timeout = up.Config.Timeout.D()
	}
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() { cancel(errUpstreamTimeout) })
		defer timer.Stop()
	}
	start := time.Now()
	resp, err := up.Provider.Send(upCtx, &call)
	if err != nil {
		return sendError(ctx, upCtx, up, err)
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	out.TTFB = time.Since(start)
	if resp.StatusCode >= 400 {
		return e.upstreamError(up, req.Dialect, dialect, &call, resp)
	}
	h := w.Header()
	copyUpstreamHeaders(h, resp.Header)
	if !(ess.stream && isStream(resp)) {
		if translated {
			return e.relayTranslated(w, resp, x, req, dialect, model, out)
		}
		return e.relayBuffered(w, resp, x, dialect, out)
	}

	// From here the total timeout no longer applies: a stream may last as long as it keeps moving.
	if timer != nil {
		timer.Stop()
	}
	src := io.Reader(resp.Body)
	if idle := up.Config.StreamIdleTimeout.D(); idle > 0 {
		ir := newIdleReader(resp.Body, idle, func() { cancel(errStreamIdle) })
		defer ir.stop()
		src = ir
	}
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = no
	var st translate.StreamTranslator
	if translated {
		if st, err = translate.NewStream(req.Dialect, dialect, model, ess.includeUsage); err != nil {
			return errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_dialect", "%s", err.Error())
		}
	}
	w.WriteHeader(http.StatusOK)
	out.Committed = true
	var got relay.Streamed
	switch {
	case translated:
		err = e.feedStream(st, src, w, x)
		got = relay.Streamed{Usage: st.Usage(), Text: st.Text()}
	case dialect == dialects.Anthropic:
		got, err = relay.AnthropicStream(w, src)
	default:
		got, err = relay.OpenAIStream(w, src, ess.includeUsage)
	}
	out.Usage, out.Text = got.Usage, got.Text
	if err != nil && ctx.Err() == nil {
		cause := context.Cause(upCtx)
		if cause == nil {
			cause = err
		}
		e.log.Warn("upstream stream broke", "provider", up.Config.Name, "model", model, "err", cause)
		if !translated { // a translator already ended the stream with an error event in the caller's dialect
			writeStreamError(w, req, cause)
		}
		return fmt.Errorf("stream from %s broke: %w", up.Config.Name, cause)
	}
	return err
}

// upstreamOp maps the caller's operation to the provider's, refusing what the provider cannot serve.
func upstreamOp(req *Request, up *Upstream, dialect dialects.Dialect) (provider.Op, *Error) {
	op := req.Op
	if dialect != req.Dialect {
		switch {
		case op == provider.OpChat || op == provider.OpMessages:
			op = provider.OpChat
			if dialect == dialects.Anthropic {
				op = provider.OpMessages
			}
		case op == provider.OpEmbeddings && req.Dialect == dialects.OpenAI:
		default:
			return op, errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
				"provider %s (type %s) speaks the %s dialect and cannot serve the %s endpoint of the %s API",
				up.Config.Name, up.Config.Type, dialect, req.Op, req.Dialect)
		}
	}
	if s, ok := up.Provider.(provider.OpSupporter); ok && !s.Supports(op) {
		return op, errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) does not offer the %s endpoint", up.Config.Name, up.Config.Type, op)
	}
	return op, nil
}

// upstreamBody builds the body sent upstream: the caller's with the model rewritten when the dialects match
// (plus a request for stream usage), else a translation.
func (e *Engine) upstreamBody(x *Exchange, req *Request, reqBody []byte, ess *essentials, up *Upstream,
	dialect dialects.Dialect, model string) ([]byte, *Error) {
	if dialect == req.Dialect {
		body := rewriteModel(x.out[:0], reqBody, ess, model)
		x.out = body
		if ess.stream && dialect == dialects.OpenAI && (req.Op == provider.OpChat || req.Op == provider.OpCompletions) {
			body = askForUsage(body, ess)
		}
		return body, nil
	}
	var (
		body  []byte
		warns []string
		err   error
	)
	if req.Op == provider.OpEmbeddings {
		body, err = translate.EmbeddingsRequest(dialect, reqBody, model)
	} else {
		body, warns, err = translate.ChatRequest(req.Dialect, dialect, reqBody, model, ess.stream)
	}
	if err != nil {
		var re *translate.RequestError
		if errors.As(err, &re) {
			return nil, &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
				Message: fmt.Sprintf("provider %s (%s) cannot honour this request: %s", up.Config.Name, dialect, re.Message)}
		}
		return nil, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	for _, wmsg := range warns {
		e.log.Warn("parameter dropped in translation", "provider", up.Config.Name, "dialect", dialect, "detail", wmsg)
	}
	return body, nil
}

// forwardHeaders picks the caller headers an upstream should see: trace context always, and Anthropic's
// version and beta flags when the upstream speaks Anthropic.
func forwardHeaders(in http.Header, dialect dialects.Dialect) http.Header {
	var h http.Header
	add := func(k string) {
		if v := in[k]; len(v) > 0 {
			if h == nil {
				h = http.Header{}
			}
			h[k] = v
		}
	}
	add("Traceparent")
	add("Tracestate")
	if dialect == dialects.Anthropic {
		add("Anthropic-Version")
		add("Anthropic-Beta")
	}
	return h
}

func isStream(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	return len(ct) >= 17 && (ct[:17] == "text/event-stream" || ct[:17] == "application/vnd.a")
}

// feedStream runs an upstream stream through a translator into the caller's stream.
func (e *Engine) feedStream(st translate.StreamTranslator, src io.Reader, w relay.Sink, x *Exchange) error {
	buf := x.resp[:cap(x.resp)]
	if len(buf) < 16<<10 {
		buf = make([]byte, 16<<10)
		x.resp = buf[:0]
	}
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if ferr := st.Feed(buf[:n], w); ferr != nil {
				_ = st.End(w, ferr)
				return ferr
			}
		}
		if rerr == io.EOF {
			return st.End(w, nil)
		}
		if rerr != nil {
			_ = st.End(w, rerr)
			return rerr
		}
	}
}

// relayTranslated reads a whole non-streaming answer, translates it to the caller's dialect, and writes it.
func (e *Engine) relayTranslated(w relay.Sink, resp *http.Response, x *Exchange, req *Request, dialect dialects.Dialect,
	model string, out *Outcome) error {
	buf, complete, err := readUpTo(resp.Body, x.resp[:0], maxTranslatedAnswer)
	x.resp = buf
	if err != nil || !complete {
		if err == nil {
			err = fmt.Errorf("answer larger than %d bytes", maxTranslatedAnswer)
		}
		return errorf(http.StatusBadGateway, TypeAPI, "upstream_read_error", "reading the answer of provider: %s", err)
	}
	var body []byte
	if req.Op == provider.OpEmbeddings {
		b64 := gjson.GetBytes(req.Body, "encoding_format").Str == "base64"
		body, out.Usage, err = translate.EmbeddingsResponse(dialect, buf, model, b64)
	} else {
		body, out.Usage, err = translate.ChatResponse(req.Dialect, dialect, buf, model)
	}
	if err != nil {
		return errorf(http.StatusBadGateway, TypeAPI, "upstream_bad_answer", "the %s answer could not be translated: %s", dialect, err)
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	out.Committed = true
	_, err = w.Write(body)
	return err
}

const maxTranslatedAnswer = 64 << 20
