package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/store"
)

// wireTeam is a team in the admin API. source, created_at and updated_at are read-only.
type wireTeam struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Customer   string      `json:"customer,omitempty"`
	Budget     *wireBudget `json:"budget,omitempty"`
	RateLimits *wireLimits `json:"rate_limits,omitempty"`
	// MCP is the team's MCP allow-list (docs/mcp.md).
	MCP       *store.MCPAccess `json:"mcp,omitempty"`
	Disabled  bool             `json:"disabled"`
	Source    string           `json:"source,omitempty"`
	CreatedAt *time.Time       `json:"created_at,omitempty"`
	UpdatedAt *time.Time       `json:"updated_at,omitempty"`
}

func teamOut(t store.Team) wireTeam {
	return wireTeam{ID: t.ID, Name: t.Name, Customer: t.CustomerID, Budget: budgetOut(t.Budget), RateLimits: limitsOut(t.Limits),
		MCP: t.MCP, Disabled: t.Disabled, Source: t.Source, CreatedAt: timeOut(t.CreatedAt), UpdatedAt: timeOut(t.UpdatedAt)}
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
	if f, err := governance.CheckMCPAccess(w.MCP); err != nil {
		return store.Team{}, adminInvalid("mcp."+f, "%v", err)
	}
	return store.Team{ID: w.ID, Name: w.Name, CustomerID: w.Customer, Budget: b, Limits: l, MCP: w.MCP, Disabled: w.Disabled}, nil
}

func (a *admin) team(id string) (store.Team, bool) {
	for _, t := range a.gov().Teams() {
		if t.ID == id {
			return t, true
		}
	}
	return store.Team{}, false
}

func (a *admin) teams() *entityAPI[store.Team, wireTeam] {
	return &entityAPI[store.Team, wireTeam]{
		kind: "team", path: "/api/teams",
		all: func() []store.Team { return a.gov().Teams() },
		keep: func(r *http.Request, t store.Team) bool {
			cust := r.URL.Query().Get("customer")
			return cust == "" || t.CustomerID == cust
		},
		id:  func(t store.Team) string { return t.ID },
		wid: func(w *wireTeam) *string { return &w.ID },
		out: teamOut,
		in:  a.teamIn,
		put: func(ctx context.Context, t store.Team) error { return a.gov().PutTeam(ctx, t) },
		del: func(ctx context.Context, id string) error { return a.gov().DeleteTeam(ctx, id) },
		carry: func(old store.Team, t *store.Team) {
			t.Source, t.CreatedAt = old.Source, old.CreatedAt
		},
		able: func(t *store.Team, disabled bool) { t.Disabled = disabled },
	}
}

func (a *admin) mountTeams(h func(string, func(http.ResponseWriter, *http.Request))) {
	mountEntity(a, h, *a.teams())
}
