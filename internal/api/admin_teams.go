package api

import (
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/store"
)

// wireTeam is a team in the admin API. source, created_at and updated_at are read-only.
type wireTeam struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Customer   string      `json:"customer,omitempty"`
	Budget     *wireBudget `json:"budget,omitempty"`
	RateLimits *wireLimits `json:"rate_limits,omitempty"`
	Disabled   bool        `json:"disabled"`
	Source     string      `json:"source,omitempty"`
	CreatedAt  *time.Time  `json:"created_at,omitempty"`
	UpdatedAt  *time.Time  `json:"updated_at,omitempty"`
}

func teamOut(t store.Team) wireTeam {
	return wireTeam{ID: t.ID, Name: t.Name, Customer: t.CustomerID, Budget: budgetOut(t.Budget), RateLimits: limitsOut(t.Limits),
		Disabled: t.Disabled, Source: t.Source, CreatedAt: timeOut(t.CreatedAt), UpdatedAt: timeOut(t.UpdatedAt)}
}

func (a *admin) teamIn(w *wireTeam) (store.Team, *gateway.Error) {
	if err := checkID("id", w.ID); err != nil {
		return store.Team{}, err
	}
	if w.Customer != "" {
		if _, ok := a.customer(w.Customer); !ok {
			return store.Team{}, adminInvalid("customer", "unknown customer %q", w.Customer)
		}
	}
	b, err := budgetIn("budget", w.Budget)
	if err != nil {
		return store.Team{}, err
	}
	l, err := limitsIn("rate_limits", w.RateLimits)
	if err != nil {
		return store.Team{}, err
	}
	return store.Team{ID: w.ID, Name: w.Name, CustomerID: w.Customer, Budget: b, Limits: l, Disabled: w.Disabled}, nil
}

func (a *admin) team(id string) (store.Team, bool) {
	for _, t := range a.gov().Teams() {
		if t.ID == id {
			return t, true
		}
	}
	return store.Team{}, false
}

func (a *admin) mountTeams(h func(string, func(http.ResponseWriter, *http.Request))) {
	h("GET /api/teams", func(w http.ResponseWriter, r *http.Request) {
		cust := r.URL.Query().Get("customer")
		ts := a.gov().Teams()
		out := make([]wireTeam, 0, len(ts))
		for _, t := range ts {
			if cust == "" || t.CustomerID == cust {
				out = append(out, teamOut(t))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
	})
	h("GET /api/teams/{id}", func(w http.ResponseWriter, r *http.Request) {
		t, ok := a.team(r.PathValue("id"))
		if !ok {
			writeOpenAIError(w, adminNotFound("team", r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, teamOut(t))
	})
	h("POST /api/teams", func(w http.ResponseWriter, r *http.Request) {
		var in wireTeam
		if err := decode(r, &in); err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.putTeamLocked(w, r, in, true)
	})
	h("PUT /api/teams/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in wireTeam
		if err := decode(r, &in); err != nil {
			writeOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, &in.ID); err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.putTeamLocked(w, r, in, false)
	})
	h("PATCH /api/teams/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		cur, ok := a.team(r.PathValue("id"))
		if !ok {
			writeOpenAIError(w, adminNotFound("team", r.PathValue("id")))
			return
		}
		var in wireTeam
		if err := patchJSON(teamOut(cur), r, &in); err != nil {
			writeOpenAIError(w, err)
			return
		}
		if err := idFromPath(r, &in.ID); err != nil {
			writeOpenAIError(w, err)
			return
		}
		a.putTeamLocked(w, r, in, false)
	})
	h("DELETE /api/teams/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if _, ok := a.team(r.PathValue("id")); !ok {
			writeOpenAIError(w, adminNotFound("team", r.PathValue("id")))
			return
		}
		if err := a.gov().DeleteTeam(r.Context(), r.PathValue("id")); err != nil {
			a.writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	for _, act := range []struct {
		path     string
		disabled bool
	}{{"disable", true}, {"enable", false}} {
		h("POST /api/teams/{id}/"+act.path, func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			defer a.mu.Unlock()
			t, ok := a.team(r.PathValue("id"))
			if !ok {
				writeOpenAIError(w, adminNotFound("team", r.PathValue("id")))
				return
			}
			t.Disabled = act.disabled
			if err := a.gov().PutTeam(r.Context(), t); err != nil {
				a.writeError(w, err)
				return
			}
			t, _ = a.team(t.ID)
			writeJSON(w, http.StatusOK, teamOut(t))
		})
	}
}

func (a *admin) putTeamLocked(w http.ResponseWriter, r *http.Request, in wireTeam, create bool) {
	t, gerr := a.teamIn(&in)
	if gerr != nil {
		writeOpenAIError(w, gerr)
		return
	}
	old, exists := a.team(t.ID)
	if create && exists {
		writeOpenAIError(w, adminConflict("team %q already exists (PUT /api/teams/%s replaces it)", t.ID, t.ID))
		return
	}
	status := http.StatusCreated
	if exists {
		t.Source, t.CreatedAt, status = old.Source, old.CreatedAt, http.StatusOK
	}
	if err := a.gov().PutTeam(r.Context(), t); err != nil {
		a.writeError(w, err)
		return
	}
	t, _ = a.team(t.ID)
	writeJSON(w, status, teamOut(t))
}
