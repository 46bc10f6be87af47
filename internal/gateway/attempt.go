package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/reqbody"
	"github.com/weir-gateway/weir/internal/telemetry"
	"github.com/weir-gateway/weir/internal/translate"
)

// The core attempt stages (chatPipeline.Attempt in pipeline.go). When the upstream speaks the caller's dialect the
// body goes through untouched but for the model; otherwise it is translated both ways.

// routeCall picks the upstream's dialect and operation for the request, refusing what the target cannot serve.
// It sets t.dialect and t.call.Op.
func routeCall(_ *Engine, _ *Flow, t *Try) error {
	t.dialect = provider.DialectOf(t.up.Provider, t.model)
	op, gerr := upstreamOp(t.req, t.up, t.dialect)
	if gerr != nil {
		return gerr
	}
	t.call.Op = op
	return nil
}

// acquireWorker takes a worker slot of the target's provider, waiting in its bounded queue; release gives it
// back. It sets t.pool.
func acquireWorker(_ *Engine, _ *Flow, t *Try) error {
	if err := t.up.Pool.Acquire(t.ctx); err != nil {
		return poolError(t.up, err)
	}
	t.pool = t.up.Pool
	return nil
}

// encodeCall builds the upstream call: the body (model rewritten, or translated), the key (a weighted pick
// unless a layer chose one) and the headers to forward. It sets t.call and t.key.
func encodeCall(e *Engine, f *Flow, t *Try) error {
	body, gerr := e.upstreamBody(f.x, t.req, t.body, t.ess, t.up, t.dialect, t.model)
	if gerr != nil {
		return gerr
	}
	if t.key == nil {
		t.key = t.up.Keys.Pick(t.model)
	}
	t.call = provider.Call{Op: t.call.Op, Model: t.model, Body: body, Stream: t.ess.Stream, Key: t.key}
	if t.up.Keys.Len() > 0 && t.key == nil {
		return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"no key of provider %s is allowed to use model %q", t.up.Config.Name, t.model)
	}
	t.call.Header = provider.ForwardHeaders(t.req.Header, t.dialect)
	if telemetry.TracingEnabled() {
		if t.call.Header == nil {
			t.call.Header = http.Header{}
		}
		telemetry.InjectHeaders(t.ctx, t.call.Header) // the upstream call continues this attempt's span
	}
	return nil
}

// sendCall sends the call and takes the answer's status; an error status becomes the attempt's error in the
// caller's dialect. It sets t.resp, f.out.Status and f.out.TTFB.
func sendCall(_ *Engine, _ *Flow, t *Try) error {
	t.startClock()
	start := time.Now()
	resp, err := t.up.Provider.Send(t.upCtx, &t.call)
	return t.received(resp, err, start, t.call.Key)
}

// received keeps an upstream answer for the attempt (closed when it ends) with its status and time to first
// byte; a failure or an error status becomes the attempt's error, in the caller's dialect.
func (t *Try) received(resp *http.Response, err error, start time.Time, key *provider.Key) error {
	if err != nil {
		return sendError(t.ctx, t.upCtx, t.up, err)
	}
	t.resp = resp
	t.f.out.Status, t.f.out.TTFB = resp.StatusCode, time.Since(start)
	if resp.StatusCode >= 400 {
		return t.f.e.upstreamError(t.up, t.req.Dialect, t.dialect, key, resp)
	}
	return nil
}

// relayAnswer writes the answer to the caller — as it came, or translated — reading its usage on the way (the
// meter). It sets f.out.Usage, f.out.Text and f.out.Committed.
func relayAnswer(e *Engine, f *Flow, t *Try) error {
	resp, w, out := t.resp, t.w, &f.out
	translated := t.dialect != t.req.Dialect
	h := w.Header()
	relay.CopyUpstreamHeaders(h, resp.Header)
	if !(t.ess.Stream && isStream(resp)) {
		if translated {
			return e.relayTranslated(w, resp, f.x, t.req, t.dialect, t.model, out)
		}
		return relayBuffered(w, resp, f.x, t.dialect, out)
	}

	src := t.Answer()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = no
	var (
		st  translate.StreamTranslator
		err error
	)
	if translated {
		if st, err = translate.NewStream(t.req.Dialect, t.dialect, t.model, t.ess.IncludeUsage); err != nil {
			return errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_dialect", "%s", err.Error())
		}
	}
	w.WriteHeader(http.StatusOK)
	out.Committed = true
	var got relay.Streamed
	switch {
	case translated:
		f.x.Resp, err = translate.Pump(st, src, w, f.x.Resp)
		got = relay.Streamed{Usage: st.Usage(), Text: st.Text()}
	case t.dialect == dialects.Anthropic:
		got, err = relay.AnthropicStream(w, src)
	default:
		got, err = relay.OpenAIStream(w, src, t.ess.IncludeUsage)
	}
	out.Usage, out.Text = got.Usage, got.Text
	if err != nil && t.ctx.Err() == nil {
		cause := context.Cause(t.upCtx)
		if cause == nil {
			cause = err
		}
		e.log.Warn("upstream stream broke", "provider", t.up.Config.Name, "model", t.model, "err", cause)
		if !translated { // a translator already ended the stream with an error event in the caller's dialect
			relay.EndWithError(w, t.req.Dialect, cause)
		}
		return fmt.Errorf("stream from %s broke: %w", t.up.Config.Name, cause)
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
func (e *Engine) upstreamBody(x *Exchange, req *Request, reqBody []byte, ess *reqbody.Essentials, up *Upstream,
	dialect dialects.Dialect, model string) ([]byte, *Error) {
	if dialect == req.Dialect {
		body := reqbody.RewriteModel(x.Out[:0], reqBody, ess, model)
		x.Out = body
		if ess.Stream && dialect == dialects.OpenAI && (req.Op == provider.OpChat || req.Op == provider.OpCompletions) {
			body = reqbody.AskForUsage(body, ess)
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
		body, warns, err = translate.ChatRequest(req.Dialect, dialect, reqBody, model, ess.Stream)
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

func isStream(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	return len(ct) >= 17 && (ct[:17] == "text/event-stream" || ct[:17] == "application/vnd.a")
}

// relayTranslated reads a whole non-streaming answer, translates it to the caller's dialect, and writes it.
func (e *Engine) relayTranslated(w relay.Sink, resp *http.Response, x *Exchange, req *Request, dialect dialects.Dialect,
	model string, out *Outcome) error {
	buf, complete, err := relay.ReadUpTo(resp.Body, x.Resp[:0], maxTranslatedAnswer)
	x.Resp = buf
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
