// Package catalog lists the models an engine serves (GET /v1/models, the admin API's prices): each provider's
// configured models, or, for a provider configured without a list, what its upstream lists (refreshed in the
// background, so a listing never waits on an upstream), and the aliases.
package catalog

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
)

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// Catalog is the model listing of one engine.
type Catalog struct {
	e       *gateway.Engine
	fetched atomic.Pointer[map[string][]string] // what each upstream listed, by provider
	started int64
}

const refreshEvery = 10 * time.Minute

// New makes e's catalog; until Run has fetched the upstreams' lists it lists the configured models and aliases.
func New(e *gateway.Engine) *Catalog {
	c := &Catalog{e: e, started: time.Now().Unix()}
	empty := map[string][]string{}
	c.fetched.Store(&empty)
	return c
}

// Run refreshes the upstreams' lists now, every ten minutes and whenever the provider set changes (a stored
// provider added, edited or removed), until ctx ends.
func (c *Catalog) Run(ctx context.Context) {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		changed := c.e.Routes().Replaced() // taken before the refresh reads the set: a change meanwhile refreshes again
		c.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		}
	}
}

func (c *Catalog) refresh(ctx context.Context) {
	next := map[string][]string{}
	for _, up := range c.e.Routes().List() {
		n := up.Config.Name
		if len(up.Config.Models) > 0 {
			continue // the config's list is authoritative
		}
		l, ok := up.Provider.(provider.ModelLister)
		if !ok {
			continue
		}
		ids, err := l.ListModels(ctx, up.Keys.Pick(""))
		if err != nil {
			c.e.Logger().Debug("could not list upstream models", "provider", n, "err", err)
			continue
		}
		next[n] = ids
	}
	c.fetched.Store(&next)
}

// List lists every model the engine can serve, as provider/model ids, and its aliases, sorted.
func (c *Catalog) List() []Model {
	fetched := *c.fetched.Load()
	var out []Model
	for _, up := range c.e.Routes().List() {
		n, ids := up.Config.Name, up.Config.Models
		if len(ids) == 0 {
			ids = fetched[n]
		}
		for _, id := range ids {
			out = append(out, Model{ID: n + "/" + id, Object: "model", Created: c.started, OwnedBy: n})
		}
	}
	for _, a := range c.e.Router().Aliases() {
		out = append(out, Model{ID: a, Object: "model", Created: c.started, OwnedBy: "weir"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
