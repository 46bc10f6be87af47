package api

import (
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/store"
)

// wireCustomer is a customer in the admin API. source, created_at and updated_at are read-only.
type wireCustomer struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Budget     *wireBudget `json:"budget,omitempty"`
	RateLimits *wireLimits `json:"rate_limits,omitempty"`
	Disabled   bool        `json:"disabled"`
	Source     string      `json:"source,omitempty"`
	CreatedAt  *time.Time  `json:"created_at,omitempty"`
	UpdatedAt  *time.Time  `json:"updated_at,omitempty"`
}

func customerOut(c store.Customer) wireCustomer {
	return wireCustomer{ID: c.ID, Name: c.Name, Budget: budgetOut(c.Budget), RateLimits: limitsOut(c.Limits),
		Disabled: c.Disabled, Source: c.Source, CreatedAt: timeOut(c.CreatedAt), UpdatedAt: timeOut(c.UpdatedAt)}
}

func (w *wireCustomer) toStore() (store.Customer, *gateway.Error) {
	if err := checkID("id", w.ID); err != nil {
		return store.Customer{}, err
	}
	b, err := budgetIn("budget", w.Budget)
	if err != nil {
		return store.Customer{}, err
	}
	l, err := limitsIn("rate_limits", w.RateLimits)
	if err != nil {
		return store.Customer{}, err
	}
	return store.Customer{ID: w.ID, Name: w.Name, Budget: b, Limits: l, Disabled: w.Disabled}, nil
}

func timeOut(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (a *admin) customer(id string) (store.Customer, bool) {
	for _, c := range a.gov().Customers() {
		if c.ID == id {
			return c, true
		}
	}
	return store.Customer{}, false
}

func (a *admin) mountCustomers(h func(string, func(http.ResponseWriter, *http.Request))) {
	h("GET /api/customers", func(w http.ResponseWriter, r *http.Request) {
		cs := a.gov().Customers()
		out := make([]wireCustomer, 0, len(cs))
		for _, c := range cs {
			out = append(out, customerOut(c))
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
	})
	h("GET /api/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, ok := a.customer(r.PathValue("id"))
		if !ok {
			writeOpenAIError(w, adminNotFound("customer", r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, customerOut(c))
	})
	h("POST /api/customers", func(w http.ResponseWriter, r *http.Request) {
		var in wireCustomer
		if err := decode(r, &in); err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.putCustomer(w, r, in, true)
	})
	h("PUT /api/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in wireCustomer
		if err := decode(r, &in); err != nil {
			writeOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, &in.ID); err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.putCustomer(w, r, in, false)
	})
	h("PATCH /api/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		cur, ok := a.customer(r.PathValue("id"))
		if !ok {
			writeOpenAIError(w, adminNotFound("customer", r.PathValue("id")))
			return
		}
		var in wireCustomer
		if err := patchJSON(customerOut(cur), r, &in); err != nil {
			writeOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, &in.ID); err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.putCustomerLocked(w, r, in, false)
	})
	h("DELETE /api/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if _, ok := a.customer(r.PathValue("id")); !ok {
			writeOpenAIError(w, adminNotFound("customer", r.PathValue("id")))
			return
		}
		if err := a.gov().DeleteCustomer(r.Context(), r.PathValue("id")); err != nil {
			a.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for _, act := range []struct {
		path     string
		disabled bool
	}{{"disable", true}, {"enable", false}} {
		h("POST /api/customers/{id}/"+act.path, func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			defer a.mu.Unlock()
			c, ok := a.customer(r.PathValue("id"))
			if !ok {
				writeOpenAIError(w, adminNotFound("customer", r.PathValue("id")))
				return
			}
			c.Disabled = act.disabled
			if err := a.gov().PutCustomer(r.Context(), c); err != nil {
				a.writeError(w, err)
				return
			}
			c, _ = a.customer(c.ID)
			writeJSON(w, http.StatusOK, customerOut(c))
		})
	}
}

func (a *admin) putCustomer(w http.ResponseWriter, r *http.Request, in wireCustomer, create bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.putCustomerLocked(w, r, in, create)
}

func (a *admin) putCustomerLocked(w http.ResponseWriter, r *http.Request, in wireCustomer, create bool) {
	c, gerr := in.toStore()
	if gerr != nil {
		writeOpenAIError(w, gerr)
		return
	}
	old, exists := a.customer(c.ID)
	if create && exists {
		writeOpenAIError(w, adminConflict("customer %q already exists (PUT /api/customers/%s replaces it)", c.ID, c.ID))
		return
	}
	status := http.StatusCreated
	if exists {
		c.Source, c.CreatedAt, status = old.Source, old.CreatedAt, http.StatusOK
	}
	if err := a.gov().PutCustomer(r.Context(), c); err != nil {
		a.writeError(w, err)
		return
	}
	c, _ = a.customer(c.ID)
	writeJSON(w, status, customerOut(c))
}
