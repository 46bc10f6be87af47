package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/responses"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
)

// storedResponses serves GET/DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items: from Weir's own
// store for the responses it translated, and from the upstream account that made it for a response Weir passed
// through. A response is visible only to the virtual key that made it. The routes are traced, metered and logged
// like inference, and nothing is charged.
func (s *Server) storedResponses(action string) http.Handler {
	return s.governed(httpx.WriteOpenAIError, func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		keyID := gateway.OwnerOf(p)
		id := r.PathValue("id")
		store := s.eng.Conversations()
		var st conversation.Stored
		err := conversation.ErrNotFound
		if store != nil {
			st, err = store.Get(ctx, id, keyID)
		}
		if err != nil && !errors.Is(err, conversation.ErrNotFound) {
			s.log.Error("reading a stored response", "response", id, "err", err)
			return gateway.Outcome{}, &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI,
				Code: "conversation_store_error", Message: "the stored response could not be read"}
		}
		model := gjson.GetBytes(st.Response, "model").String()
		// Not one Weir translated: perhaps one it passed through, which lives upstream.
		var (
			rec    affinity.Record
			passed bool
		)
		if err != nil {
			if objs := s.eng.Objects(); objs != nil {
				var oerr error
				rec, oerr = objs.Get(ctx, affinity.KindResponse, id, keyID)
				switch {
				case oerr == nil:
					passed, model = true, rec.Model
				case !errors.Is(oerr, affinity.ErrNotFound):
					s.log.Error("looking up a passed-through response", "response", id, "err", oerr)
					return gateway.Outcome{}, &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI,
						Code: "object_store_error", Message: "the stored response could not be looked up"}
				}
			}
		}
		// Governance first, so that a key over its budget learns that rather than whether the id exists.
		if gerr := s.admitRead(ctx, p, model, w.Header()); gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if passed {
			if p != nil && !p.AllowsProvider(rec.Provider) {
				return gateway.Outcome{}, &gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission,
					Code: "provider_not_allowed", Message: "virtual key " + p.ID() + " may not use provider " + rec.Provider}
			}
			method, suffix := http.MethodGet, ""
			switch action {
			case "delete":
				method = http.MethodDelete
			case "input_items":
				suffix = "/input_items"
			}
			return responses.Object(ctx, s.eng, x, rec, method, suffix, r.URL.RawQuery, w)
		}
		if err != nil {
			return gateway.Outcome{}, responseNotFound(id)
		}
		out := gateway.Outcome{Provider: st.Provider, Model: st.Model, Committed: true, Status: http.StatusOK}
		switch action {
		case "get":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(st.Response)
		case "delete":
			if err := store.Delete(ctx, id, keyID); err != nil {
				return gateway.Outcome{}, s.storeFailed(id, err)
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response.deleted", "deleted": true})
		case "input_items":
			if gerr := s.inputItems(w, r, store, id, keyID); gerr != nil {
				return gateway.Outcome{}, gerr
			}
		}
		return out, nil
	})
}

func (s *Server) admitRead(ctx context.Context, p *governance.Principal, model string, h http.Header) *gateway.Error {
	return s.eng.AdmitRead(ctx, p, model, h)
}

func responseNotFound(id string) *gateway.Error {
	return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest,
		Code: "response_not_found", Message: "Response with id '" + id + "' not found."}
}

func (s *Server) storeFailed(id string, err error) *gateway.Error {
	if errors.Is(err, conversation.ErrNotFound) {
		return responseNotFound(id)
	}
	s.log.Error("stored responses", "response", id, "err", err)
	return &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI,
		Code: "conversation_store_error", Message: "the stored response could not be read or changed"}
}

// inputItems answers a page of a stored response's input items as an OpenAI list, or returns the error to answer.
func (s *Server) inputItems(w http.ResponseWriter, r *http.Request, store conversation.Store, id, keyID string) *gateway.Error {
	q := r.URL.Query()
	bad := func(param, msg string) *gateway.Error {
		return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "invalid_value", Param: param, Message: msg}
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return bad("limit", "limit must be an integer from 1 to 100")
		}
		limit = n
	}
	order, ok := conversation.ParseOrder(q.Get("order"))
	if !ok {
		return bad("order", "order must be asc or desc")
	}
	after := q.Get("after")
	items, more, err := store.InputItems(r.Context(), id, keyID, after, limit, order)
	if errors.Is(err, conversation.ErrItemNotFound) {
		return bad("after", "no input item '"+after+"' in response '"+id+"'")
	}
	if err != nil {
		return s.storeFailed(id, err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	var first, last any
	if len(items) > 0 {
		first, last = conversation.ItemID(items[0]), conversation.ItemID(items[len(items)-1])
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": items, "first_id": first, "last_id": last,
		"has_more": more})
	return nil
}
