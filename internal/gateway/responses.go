package gateway

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
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/translate"
)

// nativeResponses reports whether an upstream serves the Responses API itself (then the request passes through).
func nativeResponses(up *Upstream, dialect dialects.Dialect) bool {
	if dialect != dialects.OpenAI {
		return false
	}
	s, ok := up.Provider.(provider.OpSupporter)
	return !ok || s.Supports(provider.OpResponses)
}

// attemptResponses serves a Responses API request on an upstream without that API: the request becomes a chat
// completion (then, if needed, the upstream's own dialect) sent through the core attempt stages, and the answer
// or stream comes back as Responses items and events, stored for previous_response_id.
func (e *Engine) attemptResponses(f *flow, t *try) error {
	ctx, up, model, w, out := t.ctx, t.up, t.model, t.w, &f.out
	keyID := OwnerOf(f.req.Principal)
	reqBody, gerr := e.expandItemReferences(ctx, t.body, keyID, up) // a copy when it changes: the original stays for other targets
	if gerr != nil {
		return gerr
	}
	prevID, history, gerr := e.history(ctx, reqBody, keyID, up)
	if gerr != nil {
		return gerr
	}
	chatBody, stream, err := translate.ResponsesToChat(reqBody, model, history)
	if err != nil {
		var re *translate.RequestError
		if errors.As(err, &re) {
			return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
				Message: fmt.Sprintf("provider %s cannot serve this Responses request: %s", up.Config.Name, re.Message)}
		}
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	if f.chatEss, err = parseEssentials(chatBody); err != nil {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	f.chatReq = f.req
	f.chatReq.Op, f.chatReq.Dialect, f.chatReq.Body = provider.OpChat, dialects.OpenAI, chatBody
	t.req, t.body, t.ess = &f.chatReq, chatBody, &f.chatEss
	respID := "resp_" + newID()

	if !stream {
		buf := &bufferSink{h: http.Header{}}
		t.w = buf
		if err := e.runAttempt(f, t); err != nil {
			if out.Committed {
				out.Committed = false // nothing reached the caller: the chat answer was only buffered
			}
			return err
		}
		resp, output, usage, err := translate.ChatToResponses(buf.body, respID, reqBody)
		if err != nil {
			return errorf(http.StatusBadGateway, TypeAPI, "upstream_bad_answer", "the answer could not be turned into a response: %s", err)
		}
		out.Usage = usage
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(http.StatusOK)
		out.Committed = true
		_, err = w.Write(resp)
		e.storeResponse(ctx, reqBody, respID, keyID, prevID, up.Config.Name, model, output, resp)
		return err
	}
	rs := &responsesSink{w: w, st: translate.NewResponsesStream(respID, model, reqBody)}
	t.w = rs
	err = e.runAttempt(f, t)
	if !out.Committed {
		return err // failed before any byte: the caller gets an error (or the next target)
	}
	_ = rs.st.End(w, err)
	_ = w.Flush()
	out.Usage = rs.st.Usage()
	if err == nil && rs.st.Response() != nil {
		e.storeResponse(ctx, reqBody, respID, keyID, prevID, up.Config.Name, model, rs.st.Output(), rs.st.Response())
	}
	return err
}

// history loads the earlier turns a translated request's previous_response_id names from the stored responses of
// keyID: prevID is "" when the request names none.
func (e *Engine) history(ctx context.Context, reqBody []byte, keyID string, up *Upstream) (prevID string, history []json.RawMessage, gerr *Error) {
	prevID = gjson.GetBytes(reqBody, "previous_response_id").String()
	if prevID == "" {
		return "", nil, nil
	}
	if e.convs == nil {
		return "", nil, &Error{Status: http.StatusNotFound, Type: TypeInvalidRequest, Code: "previous_response_not_found",
			Param: "previous_response_id", Message: fmt.Sprintf(
				"previous_response_id %q not found: this gateway keeps no stored responses for provider %s", prevID, up.Config.Name)}
	}
	history, err := e.convs.Chain(ctx, prevID, keyID)
	if errors.Is(err, conversation.ErrNotFound) {
		return "", nil, previousNotFound(prevID)
	}
	if err != nil {
		e.log.Error("loading a stored conversation", "previous_response_id", prevID, "err", err)
		return "", nil, errorf(http.StatusInternalServerError, TypeAPI, "conversation_store_error",
			"the conversation of previous_response_id %q could not be loaded", prevID)
	}
	return prevID, history, nil
}

// previousNotFound is the 404 for a previous_response_id that is unknown or belongs to another virtual key.
func previousNotFound(prevID string) *Error {
	return &Error{Status: http.StatusNotFound, Type: TypeInvalidRequest, Code: "previous_response_not_found",
		Param: "previous_response_id", Message: fmt.Sprintf("previous_response_id %q not found", prevID)}
}

// storeResponse keeps a translated response for previous_response_id and the stored-response routes, unless the
// request said "store": false. A failure is logged: the caller already has the answer.
func (e *Engine) storeResponse(ctx context.Context, reqBody []byte, respID, keyID, prevID, providerName, model string,
	output []json.RawMessage, resp []byte) {
	if e.convs == nil {
		return
	}
	if st := gjson.GetBytes(reqBody, "store"); st.Exists() && st.Type == gjson.False {
		return
	}
	input, err := translate.InputItems(reqBody)
	if err != nil {
		e.log.Error("storing a response: reading its input items", "response", respID, "err", err)
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
	err = e.convs.Save(sctx, conversation.Stored{ID: respID, KeyID: keyID, PreviousID: prevID, CreatedAt: time.Now(),
		Provider: providerName, Model: model, Input: input, Output: output, Response: bytes.Clone(resp)})
	if err != nil {
		e.log.Error("storing a response", "response", respID, "err", err)
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
