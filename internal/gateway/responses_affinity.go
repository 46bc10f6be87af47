package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// A Responses API response that Weir passes through lives in the upstream account that made it: a later
// previous_response_id, GET, DELETE or input_items only works there. Weir remembers the provider and key of
// each one (internal/affinity) and sends those requests back to them, whatever the router would choose.

// responsePin is where a previous response Weir passed through lives.
type responsePin struct {
	up    *Upstream
	key   *provider.Key // nil: the provider has no keys
	model string
}

// pinResponse finds the provider and key of the response a request's previous_response_id names, when Weir
// passed it through. nil and no error: the request names none, or one Weir did not pass through (a translated
// response, or one it never saw), which is served as before.
func (e *Engine) pinResponse(ctx context.Context, req *Request, body []byte) (*responsePin, *Error) {
	objs := e.Objects()
	if objs == nil {
		return nil, nil
	}
	prev := gjson.GetBytes(body, "previous_response_id")
	if prev.Type != gjson.String || prev.Str == "" {
		return nil, nil
	}
	rec, err := lookupObject(ctx, objs, affinity.KindResponse, prev.Str, OwnerOf(req.Principal))
	switch {
	case errors.Is(err, affinity.ErrNotFound):
		return nil, nil
	case errors.Is(err, errForeignObject):
		return nil, previousNotFound(prev.Str)
	case err != nil:
		e.log.Error("looking up a previous response", "previous_response_id", prev.Str, "err", err)
		return nil, errorf(http.StatusInternalServerError, TypeAPI, "object_store_error",
			"the provider of previous_response_id %q could not be looked up", prev.Str)
	}
	up, key, gerr := e.objectAccount(rec, "previous_response_id "+strconv.Quote(rec.ID))
	if gerr != nil {
		gerr.Param = "previous_response_id"
		return nil, gerr
	}
	return &responsePin{up: up, key: key, model: rec.Model}, nil
}

// objectAccount returns the provider and key a remembered object lives in, or a 409 saying which is gone.
func (e *Engine) objectAccount(rec affinity.Record, what string) (*Upstream, *provider.Key, *Error) {
	up := e.upstreams[rec.Provider]
	if up == nil {
		return nil, nil, errorf(http.StatusConflict, TypeInvalidRequest, "provider_gone",
			"%s was made by provider %q, which is no longer configured: it cannot be reached", what, rec.Provider)
	}
	if rec.KeyID == "" {
		return up, nil, nil
	}
	key := up.Keys.ByID(rec.KeyID)
	if key == nil {
		return nil, nil, errorf(http.StatusConflict, TypeInvalidRequest, "key_gone",
			"%s was made with an API key of provider %s that is no longer configured: it cannot be reached", what, up.Config.Name)
	}
	return up, key, nil
}

// rememberResponse records which provider and key made a passed-through response, unless the request said
// "store": false (then the upstream keeps nothing to come back to). A failure is logged: the caller already has
// the answer.
func (e *Engine) rememberResponse(ctx context.Context, req *Request, reqBody []byte, id string, up *Upstream, key *provider.Key, model string) {
	objs := e.Objects()
	if objs == nil {
		return
	}
	if gjson.GetBytes(reqBody, "store").Type == gjson.False {
		return
	}
	rec := affinity.Record{ID: id, Kind: affinity.KindResponse, Owner: OwnerOf(req.Principal), Provider: up.Config.Name,
		Model: model, CreatedAt: time.Now()}
	if key != nil {
		rec.KeyID = key.ID
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := objs.Put(sctx, rec); err != nil {
		e.log.Error("remembering a passed-through response", "response", id, "provider", up.Config.Name, "err", err)
	}
}

// responseIDSink passes an answer through while reading the response id from it: from the first event of a
// stream (response.created carries the response) or from the top of a JSON answer. It looks at the first data
// line or JSON write only for the id, and at each data line for its sequence number.
type responseIDSink struct {
	relay.Sink
	id     string
	looked bool
	next   int64 // the sequence number after the last event relayed, for an error event should the stream break
}

var (
	dataPrefix  = []byte("data:")
	sequenceKey = []byte(`"sequence_number":`)
)

// streamErrorEvent is the Responses API's own error event, numbered after the last event the caller got.
func (s *responseIDSink) streamErrorEvent(msg []byte) []byte {
	b := append([]byte(`event: error`+"\n"+`data: {"type":"error","code":"server_error","message":`), msg...)
	b = append(b, `,"param":null,"sequence_number":`...)
	b = strconv.AppendInt(b, s.next, 10)
	return append(b, "}\n\n"...)
}

func (s *responseIDSink) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, dataPrefix) {
		// The event's own member is its last one of that name: nested objects (a response) carry none.
		if i := bytes.LastIndex(p, sequenceKey); i >= 0 {
			var n int64
			j := i + len(sequenceKey)
			for j < len(p) && p[j] == ' ' {
				j++
			}
			k := j
			for ; k < len(p) && p[k] >= '0' && p[k] <= '9'; k++ {
				n = n*10 + int64(p[k]-'0')
			}
			if k > j {
				s.next = n + 1
			}
		}
	}
	if !s.looked {
		if rest, ok := bytes.CutPrefix(p, dataPrefix); ok {
			s.looked = true
			if v := gjson.GetBytes(rest, "response.id"); v.Type == gjson.String {
				s.id = strings.Clone(v.Str)
			}
		} else if t := bytes.TrimLeft(p, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			s.looked = true
			if v := gjson.GetBytes(t, "id"); v.Type == gjson.String {
				s.id = strings.Clone(v.Str)
			}
		}
	}
	return s.Sink.Write(p)
}

// ResponseObject forwards GET or DELETE /v1/responses/{id}, or GET /v1/responses/{id}/input_items (suffix
// "/input_items", with the caller's query), for a response Weir passed through, to the provider and key that
// made it, and relays the answer as the upstream wrote it (an error answer as an *Error carrying the upstream's
// body). A DELETE the upstream accepts (or answers 404: the response is gone there) also forgets the record. The
// caller has checked that rec belongs to it.
func (e *Engine) ResponseObject(ctx context.Context, rec affinity.Record, method, suffix, rawQuery string, w relay.Sink) (Outcome, error) {
	out := Outcome{Provider: rec.Provider, Model: rec.Model}
	up, key, gerr := e.objectAccount(rec, "response "+strconv.Quote(rec.ID))
	if gerr != nil {
		return out, gerr
	}
	rs, ok := up.Provider.(provider.RawSender)
	if !ok {
		return out, errorf(http.StatusBadRequest, TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) cannot be asked about stored responses", up.Config.Name, up.Config.Type)
	}
	if err := up.Pool.Acquire(ctx); err != nil {
		return out, poolError(up, err)
	}
	defer up.Pool.Release()
	upCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if t := up.Config.Timeout.D(); t > 0 {
		timer := time.AfterFunc(t, func() { cancel(errUpstreamTimeout) })
		defer timer.Stop()
	}
	call := provider.RawCall{Op: provider.OpResponses, Method: method, Path: "/responses/" + url.PathEscape(rec.ID) + suffix,
		RawQuery: rawQuery, Model: rec.Model, Header: http.Header{"Accept": jsonContentType}, Key: key}
	if telemetry.TracingEnabled() {
		telemetry.InjectHeaders(ctx, call.Header) // the upstream call continues the request's span
	}
	start := time.Now()
	up.usage.requests.Add(1)
	resp, err := rs.SendRaw(upCtx, &call)
	info := AttemptInfo{Provider: up.Config.Name, Model: rec.Model, Latency: time.Since(start)}
	if err != nil {
		up.usage.errors.Add(1)
		ge := sendError(ctx, upCtx, up, err)
		info.Err = ge.Error()
		out.Attempts = append(out.Attempts, info)
		return out, ge
	}
	defer resp.Body.Close()
	out.Status, out.TTFB, info.Status = resp.StatusCode, time.Since(start), resp.StatusCode
	if method == http.MethodDelete && (resp.StatusCode < 300 || resp.StatusCode == http.StatusNotFound) {
		if objs := e.Objects(); objs != nil {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := objs.Delete(dctx, affinity.KindResponse, rec.ID, rec.Owner); err != nil && !errors.Is(err, affinity.ErrNotFound) {
				e.log.Error("forgetting a deleted response", "response", rec.ID, "err", err)
			}
			dcancel()
		}
	}
	h := w.Header()
	h["X-Weir-Provider"] = up.nameHeader
	if resp.StatusCode >= 400 {
		up.usage.errors.Add(1)
		ge := e.upstreamError(up, dialects.OpenAI, dialects.OpenAI, &provider.Call{Key: key}, resp)
		info.Err = ge.Error()
		out.Attempts = append(out.Attempts, info)
		return out, ge // the upstream's own error body, passed through
	}
	copyUpstreamHeaders(h, resp.Header)
	if ct := resp.Header["Content-Type"]; len(ct) > 0 {
		h["Content-Type"] = ct
	} else {
		h["Content-Type"] = jsonContentType
	}
	w.WriteHeader(resp.StatusCode)
	out.Committed = true
	_, err = io.Copy(w, resp.Body)
	info.Latency = time.Since(start)
	if err != nil {
		err = cut(err)
		info.Err = err.Error()
	}
	out.Attempts = append(out.Attempts, info)
	return out, err
}
