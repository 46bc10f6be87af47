package responses

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
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// A Responses API response that Weir passes through lives in the upstream account that made it: a later
// previous_response_id, GET, DELETE or input_items only works there. Weir remembers the provider and key of
// each one (internal/affinity) and sends those requests back to them, whatever the router would choose.

// pinResponse finds the account (provider, key and model) of the response a request's previous_response_id
// names, when Weir passed it through. No account (a nil Up) and no error: the request names none, or one Weir
// did not pass through (a translated response, or one it never saw), which is served as before.
func pinResponse(ctx context.Context, e *gateway.Engine, req *gateway.Request, body []byte) (gateway.Account, *gateway.Error) {
	objs := e.Objects()
	if objs == nil {
		return gateway.Account{}, nil
	}
	prev := gjson.GetBytes(body, "previous_response_id")
	if prev.Type != gjson.String || prev.Str == "" {
		return gateway.Account{}, nil
	}
	rec, err := affinity.Lookup(ctx, objs, affinity.KindResponse, prev.Str, gateway.OwnerOf(req.Principal))
	switch {
	case errors.Is(err, affinity.ErrNotFound):
		return gateway.Account{}, nil
	case errors.Is(err, affinity.ErrForeign):
		return gateway.Account{}, previousNotFound(prev.Str)
	case err != nil:
		e.Logger().Error("looking up a previous response", "previous_response_id", prev.Str, "err", err)
		return gateway.Account{}, gateway.Errorf(http.StatusInternalServerError, gateway.TypeAPI, "object_store_error",
			"the provider of previous_response_id %q could not be looked up", prev.Str)
	}
	up, key, gerr := e.ObjectUpstream(rec, "previous_response_id "+strconv.Quote(rec.ID))
	if gerr != nil {
		gerr.Param = "previous_response_id"
		return gateway.Account{}, gerr
	}
	return gateway.Account{Up: up, Key: key, Model: rec.Model}, nil
}

// rememberResponse records which provider and key made a passed-through response, unless the request said
// "store": false (then the upstream keeps nothing to come back to). A failure is logged: the caller already has
// the answer.
func rememberResponse(ctx context.Context, e *gateway.Engine, req *gateway.Request, reqBody []byte, id string, up *gateway.Upstream, key *provider.Key, model string) {
	objs := e.Objects()
	if objs == nil {
		return
	}
	if gjson.GetBytes(reqBody, "store").Type == gjson.False {
		return
	}
	rec := affinity.Record{ID: id, Kind: affinity.KindResponse, Owner: gateway.OwnerOf(req.Principal), Provider: up.Config.Name,
		Model: model, CreatedAt: time.Now()}
	if key != nil {
		rec.KeyID = key.ID
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := objs.Put(sctx, rec); err != nil {
		e.Logger().Error("remembering a passed-through response", "response", id, "provider", up.Config.Name, "err", err)
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

// The core asks a broken stream's sink for its error event (relay.EndWithError).
var _ relay.StreamErrorEventer = (*responseIDSink)(nil)

var (
	dataPrefix  = []byte("data:")
	sequenceKey = []byte(`"sequence_number":`)
)

// StreamErrorEvent is the Responses API's own error event, numbered after the last event the caller got.
func (s *responseIDSink) StreamErrorEvent(msg []byte) []byte {
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

// Object forwards GET or DELETE /v1/responses/{id}, or GET /v1/responses/{id}/input_items (suffix
// "/input_items", with the caller's query), for a response Weir passed through, to the provider and key that
// made it, and relays the answer as the upstream wrote it (an error answer as an *Error carrying the upstream's
// body). A DELETE the upstream accepts (or answers 404: the response is gone there) also forgets the record. The
// caller has checked that rec belongs to it and admitted the read (Engine.AdmitRead): objectPipeline admits and
// charges nothing.
func Object(ctx context.Context, e *gateway.Engine, x *gateway.Exchange, rec affinity.Record, method, suffix, rawQuery string, w relay.Sink) (gateway.Outcome, error) {
	up, key, gerr := e.ObjectUpstream(rec, "response "+strconv.Quote(rec.ID))
	if gerr != nil {
		return gateway.Outcome{Provider: rec.Provider, Model: rec.Model}, gerr
	}
	if _, ok := up.Provider.(provider.RawSender); !ok {
		return gateway.Outcome{Provider: rec.Provider, Model: rec.Model}, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) cannot be asked about stored responses", up.Config.Name, up.Config.Type)
	}
	oc := &objectCall{rec: rec, up: up, key: key, call: provider.RawCall{Op: provider.OpResponses, Method: method,
		Path: "/responses/" + url.PathEscape(rec.ID) + suffix, RawQuery: rawQuery, Model: rec.Model,
		Header: http.Header{"Accept": jsonContentType}, Key: key}}
	req := gateway.Request{Op: provider.OpResponses, Dialect: dialects.OpenAI}
	return e.Run(ctx, x, &req, w, &objectPipeline, oc)
}

// objectCall is a call about a passed-through response: the pipeline's state.
type objectCall struct {
	rec  affinity.Record
	up   *gateway.Upstream
	key  *provider.Key
	call provider.RawCall
	resp *http.Response // the answer; the Try closes it
}

// objectPipeline is a call about a passed-through response: one attempt on the account that holds it, its
// answer relayed as the upstream wrote it. Nothing is admitted or charged.
var objectPipeline = gateway.Pipeline{
	Request:  []gateway.Stage{{Name: "pin", Run: pinObject}},
	Attempt:  []gateway.AttemptStage{gateway.Acquire, {Name: "send", Run: sendObjectCall}, {Name: "relay", Run: relayObject}},
	CutUsage: func(f *gateway.Flow) schema.Usage { return f.Outcome().Usage }, // nothing to charge
}

// pinObject plans the call on the account that holds the response.
func pinObject(_ *gateway.Engine, f *gateway.Flow) *gateway.Error {
	oc := f.State().(*objectCall)
	f.PlanOne(oc.up, oc.key, oc.rec.Model)
	return nil
}

// sendObjectCall sends the call, continuing the request's trace; a DELETE the upstream accepted (or answered
// 404) forgets the response.
func sendObjectCall(e *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	oc := f.State().(*objectCall)
	if telemetry.TracingEnabled() {
		telemetry.InjectHeaders(t.Ctx(), oc.call.Header)
	}
	var err error
	oc.resp, err = t.SendRaw(dialects.OpenAI, &oc.call, false)
	if status := f.Outcome().Status; oc.call.Method == http.MethodDelete && status != 0 &&
		(status < 300 || status == http.StatusNotFound) {
		forgetResponse(f.Ctx(), e, oc.rec)
	}
	return err
}

// relayObject writes the upstream's answer as it came.
func relayObject(_ *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	resp := f.State().(*objectCall).resp
	w, out := t.Sink(), f.Outcome()
	h := w.Header()
	relay.CopyUpstreamHeaders(h, resp.Header)
	if ct := resp.Header["Content-Type"]; len(ct) > 0 {
		h["Content-Type"] = ct
	} else {
		h["Content-Type"] = jsonContentType
	}
	w.WriteHeader(resp.StatusCode)
	out.Committed = true
	if _, err := io.Copy(w, resp.Body); err != nil {
		return relay.Cut(err)
	}
	return nil
}

// forgetResponse drops the record of a response deleted upstream.
func forgetResponse(ctx context.Context, e *gateway.Engine, rec affinity.Record) {
	objs := e.Objects()
	if objs == nil {
		return
	}
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer dcancel()
	if err := objs.Delete(dctx, affinity.KindResponse, rec.ID, rec.Owner); err != nil && !errors.Is(err, affinity.ErrNotFound) {
		e.Logger().Error("forgetting a deleted response", "response", rec.ID, "err", err)
	}
}
