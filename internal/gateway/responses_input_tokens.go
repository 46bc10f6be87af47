package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/sjson"

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

// ServeInputTokens serves POST /v1/responses/input_tokens like Serve serves inference (routing, retries,
// fallbacks, governance), except that nothing is charged: a governed caller's request is counted against its
// request limits and the model allow-list applies, but no tokens or cost are reserved or settled.
func (e *Engine) ServeInputTokens(ctx context.Context, x *Exchange, req *Request, w relay.Sink) (Outcome, error) {
	out := Outcome{Attempts: x.attempts[:0]}
	ess, err := parseEssentials(req.Body)
	if err != nil {
		return out, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	body := req.Body
	fallbacks := requestFallbacks(&ess, req.Header)
	if ess.fallbacks.Exists() {
		body, _ = sjson.DeleteBytes(body, "fallbacks")
		if ess, err = parseEssentials(body); err != nil {
			return out, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
		}
	}
	ess.stream, ess.includeUsage = false, false // a count is never streamed
	plan, gerr := e.planRequest(ctx, req, body, ess.model.Str, fallbacks)
	if gerr != nil {
		return out, gerr
	}
	if e.router.Has(ess.model.Str) {
		out.Alias = strings.Clone(ess.model.Str)
	}
	res, gerr := e.admitCount(ctx, req.Principal, ess.model.Str, w.Header())
	if gerr != nil {
		return out, gerr
	}
	out, err = e.serveAttempts(ctx, x, req, body, &ess, plan, w, out)
	out.Usage = schema.Usage{}
	if res != nil {
		if err == nil {
			res.Settle(schema.Usage{}, 0) // the request stays counted; no tokens, no cost
		} else {
			res.Release()
		}
	}
	return out, err
}

// attemptInputTokens counts a Responses request's input tokens on one target, with key (nil: a weighted pick).
func (e *Engine) attemptInputTokens(ctx context.Context, x *Exchange, req *Request, reqBody []byte, ess *essentials, up *Upstream,
	model string, key *provider.Key, timeout time.Duration, w relay.Sink, out *Outcome) error {
	dialect := provider.DialectOf(up.Provider, model)
	var (
		rs   provider.RawSender
		body []byte
	)
	switch {
	case nativeResponses(up, dialect):
		var ok bool
		if rs, ok = up.Provider.(provider.RawSender); !ok {
			return cannotCount(up)
		}
		body = rewriteModel(x.out[:0], reqBody, ess, model)
		x.out = body
	case dialect == dialects.Anthropic || dialect == dialects.Gemini:
		if s, ok := up.Provider.(provider.OpSupporter); ok && !s.Supports(provider.OpCountTokens) {
			return cannotCount(up)
		}
		reqBody, gerr := e.expandItemReferences(ctx, reqBody, OwnerOf(req.Principal), up)
		if gerr != nil {
			return gerr
		}
		_, history, gerr := e.history(ctx, reqBody, OwnerOf(req.Principal), up)
		if gerr != nil {
			return gerr
		}
		var err error
		body, err = translate.ResponsesCountTokensRequest(dialect, reqBody, model, history, up.Config.Type != "vertex")
		if err != nil {
			var re *translate.RequestError
			if errors.As(err, &re) {
				return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
					Message: fmt.Sprintf("provider %s cannot count the tokens of this Responses request: %s", up.Config.Name, re.Message)}
			}
			return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
		}
	default:
		return cannotCount(up)
	}
	if key == nil {
		key = up.Keys.Pick(model)
	}
	if up.Keys.Len() > 0 && key == nil {
		return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"no key of provider %s is allowed to use model %q", up.Config.Name, model)
	}
	if err := up.Pool.Acquire(ctx); err != nil {
		return poolError(up, err)
	}
	defer up.Pool.Release()
	upCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if timeout <= 0 {
		timeout = up.Config.Timeout.D()
	}
	if timeout > 0 {
		timer := time.AfterFunc(timeout, func() { cancel(errUpstreamTimeout) })
		defer timer.Stop()
	}
	call := provider.Call{Op: provider.OpCountTokens, Model: model, Body: body, Key: key, Header: forwardHeaders(req.Header, dialect)}
	start := time.Now()
	var (
		resp *http.Response
		err  error
	)
	if rs != nil {
		resp, err = rs.SendRaw(upCtx, &provider.RawCall{Op: provider.OpResponses, Method: http.MethodPost,
			Path: "/responses/input_tokens", Model: model, Header: http.Header{"Content-Type": jsonContentType},
			Body: bytes.NewReader(body), ContentLength: int64(len(body)), Key: key})
	} else {
		resp, err = up.Provider.Send(upCtx, &call)
	}
	if err != nil {
		return sendError(ctx, upCtx, up, err)
	}
	defer resp.Body.Close()
	out.Status, out.TTFB = resp.StatusCode, time.Since(start)
	if resp.StatusCode >= 400 {
		return e.upstreamError(up, dialects.OpenAI, dialect, &call, resp)
	}
	copyUpstreamHeaders(w.Header(), resp.Header)
	if rs != nil {
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
		return errorf(http.StatusBadGateway, TypeAPI, "upstream_read_error", "reading the token count of provider %s: %s", up.Config.Name, err)
	}
	n, err := translate.CountTokensResult(dialect, buf)
	if err != nil {
		return errorf(http.StatusBadGateway, TypeAPI, "upstream_bad_answer", "provider %s answered no token count: %s", up.Config.Name, err)
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
