package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/translate"
)

// OpInputTokens is POST /v1/responses/input_tokens: a Responses API request whose input is counted, not
// answered. It goes to the target's own counting endpoint: passed through to an upstream with the Responses API,
// translated to Anthropic's count_tokens or Gemini's countTokens, refused (400) by every other target.
const OpInputTokens provider.Op = "responses/input_tokens"

// ServeInputTokens serves POST /v1/responses/input_tokens like Serve serves inference, through inputTokensLayer.
func (e *Engine) ServeInputTokens(ctx context.Context, x *Exchange, req *Request, w relay.Sink) (Outcome, error) {
	return e.Serve(ctx, x, req, w)
}

// countAttemptStages are one attempt at counting: on the target's own counting endpoint, passed through to an
// upstream with the Responses API or translated to Anthropic's count_tokens or Gemini's countTokens.
var countAttemptStages = [...]attemptStage{
	{"route", routeCount},
	{"encode", encodeCount},
	{"acquire", acquireWorker},
	{"send", sendCount},
	{"relay", relayCount},
}

// routeCount picks how the target counts, refusing a target with no way to. It sets t.dialect and t.raw (the
// Responses API's own endpoint).
func routeCount(_ *Engine, _ *flow, t *try) error {
	up := t.up
	t.dialect = provider.DialectOf(up.Provider, t.model)
	switch {
	case nativeResponses(up, t.dialect):
		rs, ok := up.Provider.(provider.RawSender)
		if !ok {
			return cannotCount(up)
		}
		t.raw = rs
	case t.dialect == dialects.Anthropic || t.dialect == dialects.Gemini:
		if s, ok := up.Provider.(provider.OpSupporter); ok && !s.Supports(provider.OpCountTokens) {
			return cannotCount(up)
		}
	default:
		return cannotCount(up)
	}
	return nil
}

// encodeCount builds the count's body (the request with its model rewritten, or translated with its item
// references and history expanded) and picks the key. It sets t.call and t.key.
func encodeCount(e *Engine, f *flow, t *try) error {
	up, model := t.up, t.model
	var body []byte
	if t.raw != nil {
		body = rewriteModel(f.x.out[:0], t.body, t.ess, model)
		f.x.out = body
	} else {
		keyID := OwnerOf(f.req.Principal)
		reqBody, gerr := e.expandItemReferences(t.ctx, t.body, keyID, up)
		if gerr != nil {
			return gerr
		}
		_, history, gerr := e.history(t.ctx, reqBody, keyID, up)
		if gerr != nil {
			return gerr
		}
		var err error
		body, err = translate.ResponsesCountTokensRequest(t.dialect, reqBody, model, history, up.Config.Type != "vertex")
		if err != nil {
			var re *translate.RequestError
			if errors.As(err, &re) {
				return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
					Message: fmt.Sprintf("provider %s cannot count the tokens of this Responses request: %s", up.Config.Name, re.Message)}
			}
			return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
		}
	}
	if t.key == nil {
		t.key = up.Keys.Pick(model)
	}
	if up.Keys.Len() > 0 && t.key == nil {
		return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"no key of provider %s is allowed to use model %q", up.Config.Name, model)
	}
	t.call = provider.Call{Op: provider.OpCountTokens, Model: model, Body: body, Key: t.key, Header: forwardHeaders(t.req.Header, t.dialect)}
	return nil
}

// sendCount sends the count. It sets t.resp, f.out.Status and f.out.TTFB.
func sendCount(e *Engine, f *flow, t *try) error {
	t.startClock()
	start := time.Now()
	var (
		resp *http.Response
		err  error
	)
	if t.raw != nil {
		body := t.call.Body
		resp, err = t.raw.SendRaw(t.upCtx, &provider.RawCall{Op: provider.OpResponses, Method: http.MethodPost,
			Path: "/responses/input_tokens", Model: t.model, Header: http.Header{"Content-Type": jsonContentType},
			Body: bytes.NewReader(body), ContentLength: int64(len(body)), Key: t.key})
	} else {
		resp, err = t.up.Provider.Send(t.upCtx, &t.call)
	}
	if err != nil {
		return sendError(t.ctx, t.upCtx, t.up, err)
	}
	t.resp = resp
	f.out.Status, f.out.TTFB = resp.StatusCode, time.Since(start)
	if resp.StatusCode >= 400 {
		return e.upstreamError(t.up, dialects.OpenAI, t.dialect, &t.call, resp)
	}
	return nil
}

// relayCount writes the count: the upstream's own answer, or the translated count as a response.input_tokens
// object. It leaves f.out.Usage empty.
func relayCount(e *Engine, f *flow, t *try) error {
	resp, w, x, out := t.resp, t.w, f.x, &f.out
	copyUpstreamHeaders(w.Header(), resp.Header)
	if t.raw != nil {
		err := e.relayBuffered(w, resp, x, dialects.OpenAI, out)
		out.Usage = schema.Usage{}
		return err
	}
	buf, complete, err := readUpTo(resp.Body, x.resp[:0], 1<<20)
	x.resp = buf
	if err != nil || !complete {
		if err == nil {
			err = errors.New("answer larger than 1 MiB")
		}
		return errorf(http.StatusBadGateway, TypeAPI, "upstream_read_error", "reading the token count of provider %s: %s", t.up.Config.Name, err)
	}
	n, err := translate.CountTokensResult(t.dialect, buf)
	if err != nil {
		return errorf(http.StatusBadGateway, TypeAPI, "upstream_bad_answer", "provider %s answered no token count: %s", t.up.Config.Name, err)
	}
	answer := strconv.AppendInt(append(x.out[:0], `{"object":"response.input_tokens","input_tokens":`...), n, 10)
	x.out = append(answer, '}')
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	out.Committed = true
	_, err = w.Write(x.out)
	return err
}

// cannotCount is the 400 for a target that has no way to count a Responses request's tokens.
func cannotCount(up *Upstream) *Error {
	return errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
		"provider %s (type %s) cannot count input tokens: POST /v1/responses/input_tokens needs a target with the Responses API "+
			"(openai, azure), Anthropic's count_tokens or Gemini's countTokens", up.Config.Name, up.Config.Type)
}
