package responses

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/translate"
)

// nativeResponses reports whether an upstream serves the Responses API itself (then the request passes through).
func nativeResponses(up *gateway.Upstream, dialect dialects.Dialect) bool {
	if dialect != dialects.OpenAI {
		return false
	}
	s, ok := up.Provider.(provider.OpSupporter)
	return !ok || s.Supports(provider.OpResponses)
}

// attemptTranslated serves a Responses API request on an upstream without that API: the request becomes a chat
// completion (then, if needed, the upstream's own dialect) sent through the core attempt stages, and the answer
// or stream comes back as Responses items and events, stored for previous_response_id.
func attemptTranslated(e *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	ctx, up, model, w, out := t.Ctx(), t.Upstream(), t.Model(), t.Sink(), f.Outcome()
	keyID := gateway.OwnerOf(f.Request().Principal)
	reqBody, gerr := expandItemReferences(ctx, e, t.Body(), keyID, up) // a copy when it changes: the original stays for other targets
	if gerr != nil {
		return gerr
	}
	prevID, history, gerr := loadHistory(ctx, e, reqBody, keyID, up)
	if gerr != nil {
		return gerr
	}
	chatBody, stream, err := translate.ResponsesToChat(reqBody, model, history)
	if err != nil {
		var re *translate.RequestError
		if errors.As(err, &re) {
			return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
				Message: fmt.Sprintf("provider %s cannot serve this Responses request: %s", up.Config.Name, re.Message)}
		}
		return gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	if gerr := t.SendAs(provider.OpChat, dialects.OpenAI, chatBody); gerr != nil {
		return gerr
	}
	respID := "resp_" + newID()

	if !stream {
		buf := &bufferSink{h: http.Header{}}
		t.SetSink(buf)
		if err := t.Run(); err != nil {
			if out.Committed {
				out.Committed = false // nothing reached the caller: the chat answer was only buffered
			}
			return err
		}
		resp, output, usage, err := translate.ChatToResponses(buf.body, respID, reqBody)
		if err != nil {
			return gateway.Errorf(http.StatusBadGateway, gateway.TypeAPI, "upstream_bad_answer", "the answer could not be turned into a response: %s", err)
		}
		out.Usage = usage
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(http.StatusOK)
		out.Committed = true
		_, err = w.Write(resp)
		storeResponse(ctx, e, reqBody, respID, keyID, prevID, up.Config.Name, model, output, resp)
		return err
	}
	rs := &responsesSink{w: w, st: translate.NewResponsesStream(respID, model, reqBody)}
	t.SetSink(rs)
	err = t.Run()
	if !out.Committed {
		return err // failed before any byte: the caller gets an error (or the next target)
	}
	_ = rs.st.End(w, err)
	_ = w.Flush()
	out.Usage = rs.st.Usage()
	if err == nil && rs.st.Response() != nil {
		storeResponse(ctx, e, reqBody, respID, keyID, prevID, up.Config.Name, model, rs.st.Output(), rs.st.Response())
	}
	return err
}

// jsonContentType is the Content-Type of the answers this layer writes itself.
var jsonContentType = []string{"application/json"}

// loadHistory loads the earlier turns a translated request's previous_response_id names from the stored responses of
// keyID: prevID is "" when the request names none.
func loadHistory(ctx context.Context, e *gateway.Engine, reqBody []byte, keyID string, up *gateway.Upstream) (prevID string, history []json.RawMessage, gerr *gateway.Error) {
	prevID = gjson.GetBytes(reqBody, "previous_response_id").String()
	if prevID == "" {
		return "", nil, nil
	}
	convs := e.Conversations()
	if convs == nil {
		return "", nil, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest, Code: "previous_response_not_found",
			Param: "previous_response_id", Message: fmt.Sprintf(
				"previous_response_id %q not found: this gateway keeps no stored responses for provider %s", prevID, up.Config.Name)}
	}
	history, err := convs.Chain(ctx, prevID, keyID)
	if errors.Is(err, conversation.ErrNotFound) {
		return "", nil, previousNotFound(prevID)
	}
	if err != nil {
		e.Logger().Error("loading a stored conversation", "previous_response_id", prevID, "err", err)
		return "", nil, gateway.Errorf(http.StatusInternalServerError, gateway.TypeAPI, "conversation_store_error",
			"the conversation of previous_response_id %q could not be loaded", prevID)
	}
	return prevID, history, nil
}

// previousNotFound is the 404 for a previous_response_id that is unknown or belongs to another virtual key.
func previousNotFound(prevID string) *gateway.Error {
	return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest, Code: "previous_response_not_found",
		Param: "previous_response_id", Message: fmt.Sprintf("previous_response_id %q not found", prevID)}
}

// storeResponse keeps a translated response for previous_response_id and the stored-response routes, unless the
// request said "store": false. A failure is logged: the caller already has the answer.
func storeResponse(ctx context.Context, e *gateway.Engine, reqBody []byte, respID, keyID, prevID, providerName, model string,
	output []json.RawMessage, resp []byte) {
	convs := e.Conversations()
	if convs == nil {
		return
	}
	if st := gjson.GetBytes(reqBody, "store"); st.Exists() && st.Type == gjson.False {
		return
	}
	input, err := translate.InputItems(reqBody)
	if err != nil {
		e.Logger().Error("storing a response: reading its input items", "response", respID, "err", err)
		return
	}
	for i, it := range input {
		if gjson.GetBytes(it, "id").String() != "" {
			continue
		}
		prefix := "msg_"
		switch gjson.GetBytes(it, "type").String() {
		case "function_call":
			prefix = "fc_"
		case "function_call_output":
			prefix = "fco_"
		case "reasoning":
			prefix = "rs_"
		}
		if b, err := sjson.SetBytes(it, "id", prefix+newID()); err == nil {
			input[i] = b
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = convs.Save(sctx, conversation.Stored{ID: respID, KeyID: keyID, PreviousID: prevID, CreatedAt: time.Now(),
		Provider: providerName, Model: model, Input: input, Output: output, Response: bytes.Clone(resp)})
	if err != nil {
		e.Logger().Error("storing a response", "response", respID, "err", err)
	}
}

// bufferSink keeps a whole answer in memory.
type bufferSink struct {
	h      http.Header
	status int
	body   []byte
}

func (b *bufferSink) Header() http.Header         { return b.h }
func (b *bufferSink) WriteHeader(s int)           { b.status = s }
func (b *bufferSink) Write(p []byte) (int, error) { b.body = append(b.body, p...); return len(p), nil }
func (b *bufferSink) Flush() error                { return nil }

// responsesSink turns the chat SSE the pipeline writes into Responses events on the caller's sink.
type responsesSink struct {
	w  relay.Sink
	st translate.ResponsesStream
}

func (r *responsesSink) Header() http.Header { return r.w.Header() }
func (r *responsesSink) WriteHeader(s int)   { r.w.WriteHeader(s) }
func (r *responsesSink) Write(p []byte) (int, error) {
	if err := r.st.Feed(p, r.w); err != nil {
		return 0, err
	}
	return len(p), nil
}
func (r *responsesSink) Flush() error { return r.w.Flush() }

// newID returns 24 random hex characters for response ids.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
