package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
)

// storedResponses serves GET/DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items on the responses
// Weir stored when it translated them. A response is visible only to the virtual key that made it.
func (s *Server) storedResponses(action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, gerr := s.principal(r)
		if gerr != nil {
			writeOpenAIError(w, gerr)
			return
		}
		keyID := ""
		if p != nil {
			keyID = p.ID()
		}
		id := r.PathValue("id")
		ctx := r.Context()
		store := s.eng.Conversations()
		var st conversation.Stored
		err := conversation.ErrNotFound
		if store != nil {
			st, err = store.Get(ctx, id, keyID)
		}
		if err != nil && !errors.Is(err, conversation.ErrNotFound) {
			s.log.Error("reading a stored response", "response", id, "err", err)
			writeOpenAIError(w, &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI,
				Code: "conversation_store_error", Message: "the stored response could not be read"})
			return
		}
		// Governance first, so that a key over its budget learns that rather than whether the id exists.
		if gerr := s.admitRead(ctx, p, gjson.GetBytes(st.Response, "model").String(), w.Header()); gerr != nil {
			writeOpenAIError(w, gerr)
			return
		}
		if err != nil {
			writeOpenAIError(w, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest,
				Code: "response_not_found", Message: "Response with id '" + id + "' not found."})
			return
		}
		switch action {
		case "get":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(st.Response)
		case "delete":
			if err := store.Delete(ctx, id, keyID); err != nil {
				s.storeFailed(w, id, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "response.deleted", "deleted": true})
		case "input_items":
			s.inputItems(w, r, store, id, keyID)
		}
	})
}

func (s *Server) admitRead(ctx context.Context, p *governance.Principal, model string, h http.Header) *gateway.Error {
	return s.eng.AdmitRead(ctx, p, model, h)
}

func (s *Server) storeFailed(w http.ResponseWriter, id string, err error) {
	if errors.Is(err, conversation.ErrNotFound) {
		writeOpenAIError(w, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeInvalidRequest,
			Code: "response_not_found", Message: "Response with id '" + id + "' not found."})
		return
	}
	s.log.Error("stored responses", "response", id, "err", err)
	writeOpenAIError(w, &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI,
		Code: "conversation_store_error", Message: "the stored response could not be read or changed"})
}

// inputItems answers a page of a stored response's input items as an OpenAI list.
func (s *Server) inputItems(w http.ResponseWriter, r *http.Request, store conversation.Store, id, keyID string) {
	q := r.URL.Query()
	bad := func(param, msg string) {
		writeOpenAIError(w, &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest,
			Code: "invalid_value", Param: param, Message: msg})
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			bad("limit", "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	order, ok := conversation.ParseOrder(q.Get("order"))
	if !ok {
		bad("order", "order must be asc or desc")
		return
	}
	after := q.Get("after")
	items, more, err := store.InputItems(r.Context(), id, keyID, after, limit, order)
	if errors.Is(err, conversation.ErrItemNotFound) {
		bad("after", "no input item '"+after+"' in response '"+id+"'")
		return
	}
	if err != nil {
		s.storeFailed(w, id, err)
		return
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	var first, last any
	if len(items) > 0 {
		first, last = conversation.ItemID(items[0]), conversation.ItemID(items[len(items)-1])
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": items, "first_id": first, "last_id": last,
		"has_more": more})
}
