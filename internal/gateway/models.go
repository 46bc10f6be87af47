package gateway

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
)

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// modelCache holds the models each provider's upstream listed, refreshed in the background so GET /v1/models
// never waits on an upstream.
type modelCache struct {
	e       *Engine
	fetched atomic.Pointer[map[string][]string]
	started int64
	changed chan struct{} // the provider set changed: refresh now
}

const modelRefresh = 10 * time.Minute

func newModelCache(e *Engine) *modelCache {
	m := &modelCache{e: e, started: time.Now().Unix(), changed: make(chan struct{}, 1)}
	empty := map[string][]string{}
	m.fetched.Store(&empty)
	return m
}

func (m *modelCache) run(ctx context.Context) {
	t := time.NewTicker(modelRefresh)
	defer t.Stop()
	for {
		m.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.changed:
		}
	}
}

// kick asks for a refresh soon (a provider was added or changed); it never blocks.
func (m *modelCache) kick() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *modelCache) refresh(ctx context.Context) {
	next := map[string][]string{}
	for _, up := range m.e.routes().list {
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
			m.e.log.Debug("could not list upstream models", "provider", n, "err", err)
			continue
		}
		next[n] = ids
	}
	m.fetched.Store(&next)
}

// Models lists every model the gateway can serve, as provider/model ids.
func (e *Engine) Models() []Model {
	fetched := *e.models.fetched.Load()
	var out []Model
	for _, up := range e.routes().list {
		n := up.Config.Name
		ids := up.Config.Models
		if len(ids) == 0 {
			ids = fetched[n]
		}
		for _, id := range ids {
			out = append(out, Model{ID: n + "/" + id, Object: "model", Created: e.models.started, OwnedBy: n})
		}
	}
	for _, a := range e.router.Aliases() {
		out = append(out, Model{ID: a, Object: "model", Created: e.models.started, OwnedBy: "weir"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
