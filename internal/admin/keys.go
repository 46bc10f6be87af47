package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/store"
)

// wireKey is a virtual key in the admin API. The secret is never part of it: only its hint. key (the secret)
// appears once, in the answers to create and rotate. hint, source, created_at and updated_at are read-only.
type wireKey struct {
	ID             string                `json:"id"`
	Name           string                `json:"name,omitempty"`
	Team           string                `json:"team,omitempty"`
	Customer       string                `json:"customer,omitempty"`
	Models         []string              `json:"models,omitempty"`
	Providers      []string              `json:"providers,omitempty"`
	ProviderLimits map[string]wireLimits `json:"provider_limits,omitempty"`
	MaxConcurrent  int                   `json:"max_concurrent,omitempty"`
	Budget         *wireBudget           `json:"budget,omitempty"`
	RateLimits     *wireLimits           `json:"rate_limits,omitempty"`
	MCP            *store.MCPAccess      `json:"mcp,omitempty"`
	Disabled       bool                  `json:"disabled"`
	ExpiresAt      *time.Time            `json:"expires_at,omitempty"`
	Hint           string                `json:"hint,omitempty"`
	Source         string                `json:"source,omitempty"`
	CreatedAt      *time.Time            `json:"created_at,omitempty"`
	UpdatedAt      *time.Time            `json:"updated_at,omitempty"`
}

// wireKeyWithSecret is the one answer that carries the secret.
type wireKeyWithSecret struct {
	wireKey
	Key string `json:"key"`
}

func keyOut(k store.VirtualKey) wireKey {
	w := wireKey{ID: k.ID, Name: k.Name, Team: k.TeamID, Customer: k.CustomerID, Models: k.Models, Providers: k.Providers,
		MaxConcurrent: k.MaxConcurrent, Budget: budgetOut(k.Budget), RateLimits: limitsOut(k.Limits), MCP: k.MCP, Disabled: k.Disabled,
		ExpiresAt: timeOut(k.ExpiresAt), Hint: hintOut(k.Hint), Source: k.Source, CreatedAt: timeOut(k.CreatedAt), UpdatedAt: timeOut(k.UpdatedAt)}
	if len(k.ProviderLimits) > 0 {
		w.ProviderLimits = make(map[string]wireLimits, len(k.ProviderLimits))
		for p, l := range k.ProviderLimits {
			w.ProviderLimits[p] = wireLimits(l)
		}
	}
	return w
}

// hintOut shortens the stored hint ("wk-AbCd…wxyz") to the form shown by the admin API: "wk-…wxyz".
func hintOut(h string) string {
	if i := strings.LastIndex(h, "…"); i >= 0 {
		return governance.KeyPrefix + "…" + h[i+len("…"):]
	}
	return h
}

func (a *admin) keyIn(w *wireKey) (store.VirtualKey, *gateway.Error) {
	if err := checkID("id", w.ID); err != nil {
		return store.VirtualKey{}, err
	}
	if w.Team != "" && w.Customer != "" {
		return store.VirtualKey{}, adminInvalid("customer", "set team or customer, not both (a team already names its customer)")
	}
	if w.Team != "" {
		if _, ok := a.team(w.Team); !ok {
			return store.VirtualKey{}, adminInvalid("team", "unknown team %q", w.Team)
		}
	}
	if w.Customer != "" {
		if _, ok := a.customer(w.Customer); !ok {
			return store.VirtualKey{}, adminInvalid("customer", "unknown customer %q", w.Customer)
		}
	}
	for i, m := range w.Models {
		if m == "" {
			return store.VirtualKey{}, adminInvalid("models["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	for i, p := range w.Providers {
		if p == "" {
			return store.VirtualKey{}, adminInvalid("providers["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	if w.MaxConcurrent < 0 {
		return store.VirtualKey{}, adminInvalid("max_concurrent", "must be >= 0 (0: no limit)")
	}
	b, err := budgetIn("budget", w.Budget)
	if err != nil {
		return store.VirtualKey{}, err
	}
	l, err := limitsIn("rate_limits", w.RateLimits)
	if err != nil {
		return store.VirtualKey{}, err
	}
	if f, err := governance.CheckMCPAccess(w.MCP); err != nil {
		return store.VirtualKey{}, adminInvalid("mcp."+f, "%v", err)
	}
	k := store.VirtualKey{ID: w.ID, Name: w.Name, TeamID: w.Team, CustomerID: w.Customer, Models: w.Models, Providers: w.Providers,
		MaxConcurrent: w.MaxConcurrent, Budget: b, Limits: l, MCP: w.MCP, Disabled: w.Disabled}
	for p, pl := range w.ProviderLimits {
		if err := checkID("provider_limits", p); err != nil {
			return store.VirtualKey{}, adminInvalid("provider_limits."+p, "not a provider name")
		}
		l, err := limitsIn("provider_limits."+p, &pl)
		if err != nil {
			return store.VirtualKey{}, err
		}
		if k.ProviderLimits == nil {
			k.ProviderLimits = map[string]store.Limits{}
		}
		k.ProviderLimits[p] = l
	}
	if w.ExpiresAt != nil {
		k.ExpiresAt = *w.ExpiresAt
	}
	return k, nil
}

func (a *admin) key(id string) (store.VirtualKey, bool) {
	for _, k := range a.gov().Keys() {
		if k.ID == id {
			return k, true
		}
	}
	return store.VirtualKey{}, false
}

func (a *admin) mountKeys(h func(string, func(http.ResponseWriter, *http.Request))) {
	h("GET /api/keys", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		team, cust := q.Get("team"), q.Get("customer")
		ks := a.gov().Keys()
		out := make([]wireKey, 0, len(ks))
		for _, k := range ks {
			if team != "" && k.TeamID != team {
				continue
			}
			if cust != "" {
				if p := a.gov().Principal(k.ID); p == nil || p.CustomerID() != cust {
					continue
				}
			}
			out = append(out, keyOut(k))
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
	})
	h("GET /api/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		k, ok := a.key(r.PathValue("id"))
		if !ok {
			httpx.WriteOpenAIError(w, adminNotFound("virtual key", r.PathValue("id")))
			return
		}
		httpx.WriteJSON(w, http.StatusOK, keyOut(k))
	})
	h("POST /api/keys", func(w http.ResponseWriter, r *http.Request) {
		var in wireKey
		if err := decode(r, &in); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		k, gerr := a.keyIn(&in)
		if gerr != nil {
			httpx.WriteOpenAIError(w, gerr)
			return
		}
		if _, exists := a.key(k.ID); exists {
			httpx.WriteOpenAIError(w, adminConflict("virtual key %q already exists (PUT /api/keys/%s changes it, POST /api/keys/%s/rotate gives it a new secret)", k.ID, k.ID, k.ID))
			return
		}
		secret, err := a.gov().CreateKey(r.Context(), k)
		if err != nil {
			a.writeError(w, err)
			return
		}
		k, _ = a.key(k.ID)
		httpx.WriteJSON(w, http.StatusCreated, wireKeyWithSecret{wireKey: keyOut(k), Key: secret})
	})
	h("PUT /api/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in wireKey
		if err := decode(r, &in); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, &in.ID); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.updateKeyLocked(w, r, in)
	})
	h("PATCH /api/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		cur, ok := a.key(r.PathValue("id"))
		if !ok {
			httpx.WriteOpenAIError(w, adminNotFound("virtual key", r.PathValue("id")))
			return
		}
		var in wireKey
		if err := patchJSON(keyOut(cur), r, &in); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, &in.ID); err != nil {
			httpx.WriteOpenAIError(w, err)
			return
		}
		a.updateKeyLocked(w, r, in)
	})
	h("DELETE /api/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if _, ok := a.key(r.PathValue("id")); !ok {
			httpx.WriteOpenAIError(w, adminNotFound("virtual key", r.PathValue("id")))
			return
		}
		if err := a.gov().DeleteKey(r.Context(), r.PathValue("id")); err != nil {
			a.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for _, act := range []struct {
		path     string
		disabled bool
	}{{"disable", true}, {"enable", false}} {
		h("POST /api/keys/{id}/"+act.path, func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			defer a.mu.Unlock()
			k, ok := a.key(r.PathValue("id"))
			if !ok {
				httpx.WriteOpenAIError(w, adminNotFound("virtual key", r.PathValue("id")))
				return
			}
			k.Disabled = act.disabled
			// UpdateKey publishes a new snapshot before it returns: the next request sees the change.
			if err := a.gov().UpdateKey(r.Context(), k); err != nil {
				a.writeError(w, err)
				return
			}
			k, _ = a.key(k.ID)
			httpx.WriteJSON(w, http.StatusOK, keyOut(k))
		})
	}
	h("POST /api/keys/{id}/rotate", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		id := r.PathValue("id")
		if _, ok := a.key(id); !ok {
			httpx.WriteOpenAIError(w, adminNotFound("virtual key", id))
			return
		}
		secret, err := a.gov().RotateKey(r.Context(), id)
		if err != nil {
			a.writeError(w, err)
			return
		}
		k, _ := a.key(id)
		httpx.WriteJSON(w, http.StatusOK, wireKeyWithSecret{wireKey: keyOut(k), Key: secret})
	})
}

func (a *admin) updateKeyLocked(w http.ResponseWriter, r *http.Request, in wireKey) {
	old, ok := a.key(in.ID)
	if !ok {
		httpx.WriteOpenAIError(w, adminNotFound("virtual key", in.ID))
		return
	}
	k, gerr := a.keyIn(&in)
	if gerr != nil {
		httpx.WriteOpenAIError(w, gerr)
		return
	}
	k.Source = old.Source
	if err := a.gov().UpdateKey(r.Context(), k); err != nil {
		a.writeError(w, err)
		return
	}
	k, _ = a.key(k.ID)
	httpx.WriteJSON(w, http.StatusOK, keyOut(k))
}
