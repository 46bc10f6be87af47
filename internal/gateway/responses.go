package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/translate"
)

// nativeResponses reports whether an upstream serves the Responses API itself (then the request passes through).
func nativeResponses(up *Upstream, dialect provider.Dialect) bool {
	if dialect != provider.OpenAI {
		return false
	}
	s, ok := up.Provider.(provider.OpSupporter)
	return !ok || s.Supports(provider.OpResponses)
}

// attemptResponses serves a Responses API request on an upstream without that API: the request becomes a chat
// completion (then, if needed, the upstream's own dialect), and the answer or stream comes back as Responses
// items and events.
func (e *Engine) attemptResponses(ctx context.Context, x *Exchange, req *Request, reqBody []byte, up *Upstream,
	model string, timeout time.Duration, w relay.Sink, out *Outcome) error {
	if gjson.GetBytes(reqBody, "previous_response_id").Exists() {
		return errorf(http.StatusNotFound, TypeNotFound, "response_not_found",
			"previous_response_id is not available for provider %s: Weir keeps no stored responses for providers without their own Responses API yet",
			up.Config.Name)
	}
	chatBody, stream, err := translate.ResponsesToChat(reqBody, model, nil)
	if err != nil {
		var re *translate.RequestError
		if errors.As(err, &re) {
			return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "unsupported_parameter", Param: re.Param,
				Message: fmt.Sprintf("provider %s cannot serve this Responses request: %s", up.Config.Name, re.Message)}
		}
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	chatEss, err := parseEssentials(chatBody)
	if err != nil {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	chatReq := *req
	chatReq.Op, chatReq.Dialect, chatReq.Body = provider.OpChat, provider.OpenAI, chatBody
	respID := "resp_" + newID()

	if !stream {
		buf := &bufferSink{h: http.Header{}}
		if err := e.attempt(ctx, x, &chatReq, chatBody, &chatEss, up, model, timeout, buf, out); err != nil {
			if out.Committed {
				out.Committed = false // nothing reached the caller: the chat answer was only buffered
			}
			return err
		}
		resp, _, usage, err := translate.ChatToResponses(buf.body, respID, reqBody)
		if err != nil {
			return errorf(http.StatusBadGateway, TypeAPI, "upstream_bad_answer", "the answer could not be turned into a response: %s", err)
		}
		out.Usage = usage
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(http.StatusOK)
		out.Committed = true
		_, err = w.Write(resp)
		return err
	}
	rs := &responsesSink{w: w, st: translate.NewResponsesStream(respID, model, reqBody)}
	err = e.attempt(ctx, x, &chatReq, chatBody, &chatEss, up, model, timeout, rs, out)
	if !out.Committed {
		return err // failed before any byte: the caller gets an error (or the next target)
	}
	_ = rs.st.End(w, err)
	_ = w.Flush()
	out.Usage = rs.st.Usage()
	return err
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
