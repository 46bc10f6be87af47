package responses

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/jsonstr"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/translate"
)

// OpInputTokens is POST /v1/responses/input_tokens: a Responses API request whose input is counted, not
// answered. It goes to the target's own counting endpoint: passed through to an upstream with the Responses API,
// translated to Anthropic's count_tokens or Gemini's countTokens, refused (400) by every other target.
const OpInputTokens provider.Op = "responses/input_tokens"

// count is one attempt at counting, on the target's own counting endpoint: passed through to an upstream with
// the Responses API or translated to Anthropic's count_tokens or Gemini's countTokens. Its steps are the core's
// (route, encode, acquire, send, relay), with the core's worker slot (gateway.Acquire), clock and error mapping
// (Try.Send, Try.SendRaw).
func count(e *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	up, model := t.Upstream(), t.Model()
	// route: how the target counts, refusing a target with no way to.
	dialect := provider.DialectOf(up.Provider, model)
	native := nativeResponses(up, dialect)
	switch {
	case native:
		if _, ok := up.Provider.(provider.RawSender); !ok {
			return cannotCount(up)
		}
	case dialect == dialects.Anthropic || dialect == dialects.Gemini:
		if s, ok := up.Provider.(provider.OpSupporter); ok && !s.Supports(provider.OpCountTokens) {
			return cannotCount(up)
		}
	default:
		return cannotCount(up)
	}
	// encode: the request with its model rewritten, or translated with its item references and history expanded.
	var body []byte
	if native {
		body = withModel(t.Body(), model)
	} else {
		keyID := gateway.OwnerOf(f.Request().Principal)
		reqBody, gerr := expandItemReferences(t.Ctx(), e, t.Body(), keyID, up)
		if gerr != nil {
			return gerr
		}
		_, history, gerr := loadHistory(t.Ctx(), e, reqBody, keyID, up)
		if gerr != nil {
			return gerr
		}
		var err error
		body, err = translate.ResponsesCountTokensRequest(dialect, reqBody, model, history, up.Config.Type != "vertex")
		if err != nil {
			var re *translate.RequestError
			if errors.As(err, &re) {
				return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
					Message: fmt.Sprintf("provider %s cannot count the tokens of this Responses request: %s", up.Config.Name, re.Message)}
			}
			return gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_request", "%s", err.Error())
		}
	}
	if t.Key() == nil {
		t.SetKey(up.Keys.Pick(model))
	}
	key := t.Key()
	if up.Keys.Len() > 0 && key == nil {
		return gateway.Errorf(http.StatusForbidden, gateway.TypePermission, "model_not_allowed",
			"no key of provider %s is allowed to use model %q", up.Config.Name, model)
	}
	// acquire and send.
	if err := gateway.Acquire.Run(e, f, t); err != nil {
		return err
	}
	var (
		resp *http.Response
		err  error
	)
	if native {
		resp, err = t.SendRaw(dialect, &provider.RawCall{Op: provider.OpResponses, Method: http.MethodPost,
			Path: "/responses/input_tokens", Model: model, Header: http.Header{"Content-Type": jsonContentType},
			Body: bytes.NewReader(body), ContentLength: int64(len(body)), Key: key}, false)
	} else {
		resp, err = t.Send(dialect, provider.Call{Op: provider.OpCountTokens, Model: model, Body: body, Key: key})
	}
	if err != nil {
		return err
	}
	// relay: the upstream's own answer, or the translated count as a response.input_tokens object; no usage.
	w, x := t.Sink(), f.Exchange()
	relay.CopyUpstreamHeaders(w.Header(), resp.Header)
	buf, complete, err := relay.ReadUpTo(resp.Body, x.Resp[:0], maxCountAnswer)
	x.Resp = buf
	if err != nil || !complete {
		if err == nil {
			err = errors.New("answer larger than 1 MiB")
		}
		return gateway.Errorf(http.StatusBadGateway, gateway.TypeAPI, "upstream_read_error", "reading the token count of provider %s: %s", up.Config.Name, err)
	}
	out := f.Outcome()
	if native {
		return writeAnswer(w, out, resp.StatusCode, resp.Header["Content-Type"], buf)
	}
	n, err := translate.CountTokensResult(dialect, buf)
	if err != nil {
		return gateway.Errorf(http.StatusBadGateway, gateway.TypeAPI, "upstream_bad_answer", "provider %s answered no token count: %s", up.Config.Name, err)
	}
	// The upstream's answer is read: its buffer (the request's, pooled) holds ours.
	answer := strconv.AppendInt(append(buf[:0], `{"object":"response.input_tokens","input_tokens":`...), n, 10)
	answer = append(answer, '}')
	return writeAnswer(w, out, http.StatusOK, nil, answer)
}

// maxCountAnswer bounds a token count's answer: a few bytes, whatever the dialect.
const maxCountAnswer = 1 << 20

// writeAnswer writes a count's JSON answer with its status and Content-Type (JSON when the upstream named none).
func writeAnswer(w relay.Sink, out *gateway.Outcome, status int, contentType []string, answer []byte) error {
	if len(contentType) == 0 {
		contentType = jsonContentType
	}
	w.Header()["Content-Type"] = contentType
	w.WriteHeader(status)
	out.Committed = true
	_, err := w.Write(answer)
	return err
}

// withModel is body with its "model" replaced by model (a validated body has one), every other byte kept.
func withModel(body []byte, model string) []byte {
	m := gjson.GetBytes(body, "model")
	if m.Str == model || m.Index <= 0 {
		return body
	}
	out := append(make([]byte, 0, len(body)+len(model)), body[:m.Index]...)
	out = jsonstr.Append(out, model)
	return append(out, body[m.Index+len(m.Raw):]...)
}

// cannotCount is the 400 for a target that has no way to count a Responses request's tokens.
func cannotCount(up *gateway.Upstream) *gateway.Error {
	return gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "unsupported_endpoint",
		"provider %s (type %s) cannot count input tokens: POST /v1/responses/input_tokens needs a target with the Responses API "+
			"(openai, azure), Anthropic's count_tokens or Gemini's countTokens", up.Config.Name, up.Config.Type)
}
