package responses

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
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
	rec, err := gateway.LookupObject(ctx, objs, affinity.KindResponse, prev.Str, gateway.OwnerOf(req.Principal))
	switch {
	case errors.Is(err, affinity.ErrNotFound):
		return gateway.Account{}, nil
	case errors.Is(err, gateway.ErrForeignObject):
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
// caller has checked that rec belongs to it.
func Object(ctx context.Context, e *gateway.Engine, rec affinity.Record, method, suffix, rawQuery string, w relay.Sink) (gateway.Outcome, error) {
	out := gateway.Outcome{Provider: rec.Provider, Model: rec.Model}
	up, key, gerr := e.ObjectUpstream(rec, "response "+strconv.Quote(rec.ID))
	if gerr != nil {
		return out, gerr
	}
	rs, ok := up.Provider.(provider.RawSender)
	if !ok {
		return out, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) cannot be asked about stored responses", up.Config.Name, up.Config.Type)
	}
	call := provider.RawCall{Op: provider.OpResponses, Method: method, Path: "/responses/" + url.PathEscape(rec.ID) + suffix,
		RawQuery: rawQuery, Model: rec.Model, Header: http.Header{"Accept": jsonContentType}, Key: key}
	var forget func(int)
	if method == http.MethodDelete {
		forget = func(status int) {
			objs := e.Objects()
			if objs == nil || (status >= 300 && status != http.StatusNotFound) {
				return
			}
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer dcancel()
			if err := objs.Delete(dctx, affinity.KindResponse, rec.ID, rec.Owner); err != nil && !errors.Is(err, affinity.ErrNotFound) {
				e.Logger().Error("forgetting a deleted response", "response", rec.ID, "err", err)
			}
		}
	}
	return e.ForwardObject(ctx, up, rs, &call, w, forget)
}
