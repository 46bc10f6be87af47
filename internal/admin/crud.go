package admin

import (
	"context"
	"net/http"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/httpx"
)

// entityAPI describes a governance entity kept in the store (a customer, a team) to the admin API's CRUD routes:
// list, get, create (POST), replace (PUT), merge (PATCH), delete, disable and enable. S is the store's type, W
// the wire form.
type entityAPI[S, W any] struct {
	kind string // "customer", for messages
	path string // "/api/customers"

	all   func() []S
	keep  func(r *http.Request, s S) bool // list filter from the query; nil keeps every entity
	id    func(S) string
	wid   func(*W) *string
	out   func(S) W
	in    func(*W) (S, *gateway.Error)
	put   func(ctx context.Context, s S) error
	del   func(ctx context.Context, id string) error
	carry func(old S, s *S)         // what a replacement keeps of the old one (source, created_at)
	able  func(s *S, disabled bool) // sets Disabled
}

func (e *entityAPI[S, W]) get(id string) (S, bool) {
	for _, s := range e.all() {
		if e.id(s) == id {
			return s, true
		}
	}
	var zero S
	return zero, false
}

// mountEntity registers an entity's CRUD routes. Writes hold the admin lock, so a PATCH reads and writes one
// version of the entity.
func mountEntity[S, W any](a *admin, h func(string, func(http.ResponseWriter, *http.Request)), e entityAPI[S, W]) {
	notFound := func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteOpenAIError(w, adminNotFound(e.kind, r.PathValue("id")))
	}
	h("GET "+e.path, func(w http.ResponseWriter, r *http.Request) {
		all := e.all()
		out := make([]W, 0, len(all))
		for _, s := range all {
			if e.keep == nil || e.keep(r, s) {
				out = append(out, e.out(s))
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
	})
	h("GET "+e.path+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := e.get(r.PathValue("id"))
		if !ok {
			notFound(w, r)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, e.out(s))
	})
	h("POST "+e.path, func(w http.ResponseWriter, r *http.Request) {
		var in W
		if err := decode(r, &in); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		putEntity(a, e, w, r, &in, true)
	})
	h("PUT "+e.path+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in W
		if err := decode(r, &in); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, e.wid(&in)); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		putEntity(a, e, w, r, &in, false)
	})
	h("PATCH "+e.path+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		cur, ok := e.get(r.PathValue("id"))
		if !ok {
			notFound(w, r)
			return
		}
		var in W
		if err := patchJSON(e.out(cur), r, &in); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, e.wid(&in)); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		putEntity(a, e, w, r, &in, false)
	})
	h("DELETE "+e.path+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if _, ok := e.get(r.PathValue("id")); !ok {
			notFound(w, r)
			return
		}
		if err := e.del(r.Context(), r.PathValue("id")); err != nil {
			a.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for _, act := range []struct {
		path     string
		disabled bool
	}{{"disable", true}, {"enable", false}} {
		h("POST "+e.path+"/{id}/"+act.path, func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			defer a.mu.Unlock()
			s, ok := e.get(r.PathValue("id"))
			if !ok {
				notFound(w, r)
				return
			}
			e.able(&s, act.disabled)
			if err := e.put(r.Context(), s); err != nil {
				a.writeError(w, err)
				return
			}
			s, _ = e.get(e.id(s))
			httpx.WriteJSON(w, http.StatusOK, e.out(s))
		})
	}
}

// putEntity creates or replaces an entity from its wire form; the caller holds the admin lock.
func putEntity[S, W any](a *admin, e entityAPI[S, W], w http.ResponseWriter, r *http.Request, in *W, create bool) {
	s, gerr := e.in(in)
	if gerr != nil {
		httpx.WriteOpenAIError(w, gerr)
		return
	}
	id := e.id(s)
	old, exists := e.get(id)
	if create && exists {
		httpx.WriteOpenAIError(w, adminConflict("%s %q already exists (PUT %s/%s replaces it)", e.kind, id, e.path, id))
		return
	}
	status := http.StatusCreated
	if exists {
		e.carry(old, &s)
		status = http.StatusOK
	}
	if err := e.put(r.Context(), s); err != nil {
		a.writeError(w, err)
		return
	}
	s, _ = e.get(id)
	httpx.WriteJSON(w, status, e.out(s))
}
