package admin

import (
	"context"
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

func (a *admin) customer(id string) (store.Customer, bool) { return a.customers().get(id) }

func (a *admin) customers() *entityAPI[store.Customer, wireCustomer] {
	return &entityAPI[store.Customer, wireCustomer]{
		kind: "customer", path: "/api/customers",
		all: func() []store.Customer { return a.gov().Customers() },
		id:  func(c store.Customer) string { return c.ID },
		wid: func(w *wireCustomer) *string { return &w.ID },
		out: customerOut,
		in:  (*wireCustomer).toStore,
		put: func(ctx context.Context, c store.Customer) error { return a.gov().PutCustomer(ctx, c) },
		del: func(ctx context.Context, id string) error { return a.gov().DeleteCustomer(ctx, id) },
		carry: func(old store.Customer, c *store.Customer) {
			c.Source, c.CreatedAt = old.Source, old.CreatedAt
		},
		able: func(c *store.Customer, disabled bool) { c.Disabled = disabled },
	}
}

func (a *admin) mountCustomers(h func(string, func(http.ResponseWriter, *http.Request))) {
	mountEntity(a, h, *a.customers())
}
