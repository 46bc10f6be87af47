package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
)

// routing is the set of providers requests are served by. It is immutable: a change (a provider stored, edited
// or removed through the admin API) builds a new one and swaps it in with one atomic store, so the request path
// reads it with one atomic load and no lock. A request keeps the *Upstream it picked: a removed provider's
// in-flight and queued requests finish on it.
type routing struct {
	upstreams map[string]*Upstream
	names     []string    // sorted, for stable listings
	list      []*Upstream // in names' order
	// stored are the providers that came from the store (SetStored), each with what it was built from.
	stored map[string]storedUpstream
	// replaced is closed when this set is swapped out (Engine.ProvidersChanged): the model catalog refreshes.
	replaced chan struct{}
}

// storedUpstream is what a stored provider was built from, to tell an edit from a rebuild of the same thing.
type storedUpstream struct {
	fingerprint []byte
}

// ErrShadowed is SetStored's verdict on a stored provider whose name a configured provider has: the config file
// wins.
var ErrShadowed = errors.New("a provider of the config file has this name; the config file wins")

// sort lists the set's names and upstreams in name order.
func (rt *routing) sort() {
	rt.names = rt.names[:0]
	for n := range rt.upstreams {
		rt.names = append(rt.names, n)
	}
	sort.Strings(rt.names)
	rt.list = make([]*Upstream, len(rt.names))
	for i, n := range rt.names {
		rt.list[i] = rt.upstreams[n]
	}
}

// routes is the current provider set.
func (e *Engine) routes() *routing { return e.rt.Load() }

// newUpstream builds one provider with its key set and, unless reused is given, a new worker pool.
func (e *Engine) newUpstream(index int, pc provider.Config, reused *dispatch.Pool) (*Upstream, error) {
	p, err := provider.Build(index, pc)
	if err != nil {
		return nil, err
	}
	pool := reused
	if pool == nil {
		o := e.poolDefaults
		o.Concurrency, o.BufferSize = pc.Concurrency, pc.BufferSize
		pool = dispatch.New(o)
	}
	return &Upstream{Provider: p, Config: pc, Keys: provider.NewKeySet(pc.Keys), Pool: pool,
		nameHeader: []string{pc.Name}}, nil
}

// CheckProvider builds a provider the way SetStored would, without routing it: the admin API refuses to store
// one that could not serve. Problems have paths relative to the entry ("base_url", "keys[0].value").
func (e *Engine) CheckProvider(pc provider.Config) error {
	if e.configured[pc.Name] {
		return ErrShadowed
	}
	_, err := provider.Build(0, pc)
	return relativeProblems(err)
}

// relativeProblems drops Build's "providers[0]" from problem paths: a stored provider is no entry of a file.
func relativeProblems(err error) error {
	var ps confkit.Problems
	if !errors.As(err, &ps) {
		return err
	}
	out := make(confkit.Problems, len(ps))
	for i, p := range ps {
		p.Path = strings.TrimPrefix(strings.TrimPrefix(p.Path, "providers[0]"), ".")
		out[i] = p
	}
	return out
}

// ConfiguredNames lists the config file's providers, sorted.
func (e *Engine) ConfiguredNames() []string {
	var out []string
	for _, n := range e.routes().names {
		if e.configured[n] {
			out = append(out, n)
		}
	}
	return out
}

// Configured reports whether name is a provider of the config file (which the admin API may not change).
func (e *Engine) Configured(name string) bool { return e.configured[name] }

// SetStored makes cfgs the stored providers requests are routed to, beside the configured ones, and swaps the
// new set in. A provider whose settings did not change keeps its *Upstream (pool, counters, client); an edited
// one is rebuilt, keeping its pool when concurrency and buffer size are the same; a changed or removed one has
// its targets' breakers forgotten. It returns why each provider it could not route is left out (ErrShadowed, a
// build error); the others are routed whatever happens to them.
func (e *Engine) SetStored(cfgs []provider.Config) map[string]error {
	e.swapMu.Lock()
	defer e.swapMu.Unlock()
	old := e.routes()
	next := &routing{upstreams: make(map[string]*Upstream, len(e.configured)+len(cfgs)), stored: map[string]storedUpstream{},
		replaced: make(chan struct{})}
	for n := range e.configured {
		next.upstreams[n] = old.upstreams[n]
	}
	failed := map[string]error{}
	for _, pc := range cfgs {
		if e.configured[pc.Name] {
			failed[pc.Name] = ErrShadowed
			continue
		}
		if _, dup := next.upstreams[pc.Name]; dup {
			failed[pc.Name] = fmt.Errorf("provider %q is given twice", pc.Name)
			continue
		}
		fp, err := fingerprint(pc)
		if err != nil {
			failed[pc.Name] = err
			continue
		}
		prev, had := old.stored[pc.Name]
		if had && bytes.Equal(prev.fingerprint, fp) {
			next.upstreams[pc.Name] = old.upstreams[pc.Name]
			next.stored[pc.Name] = prev
			continue
		}
		var pool *dispatch.Pool
		if was := old.upstreams[pc.Name]; had && was.Config.Concurrency == pc.Concurrency && was.Config.BufferSize == pc.BufferSize {
			pool = was.Pool // in-flight requests of the old version still count against the same slots
		}
		up, err := e.newUpstream(0, pc, pool)
		if err != nil {
			failed[pc.Name] = relativeProblems(err)
			continue
		}
		next.upstreams[pc.Name] = up
		next.stored[pc.Name] = storedUpstream{fingerprint: fp}
	}
	if sameUpstreams(old, next) {
		return failed // nothing changed: keep the set (and the model lists) as they are
	}
	next.sort()
	e.rt.Store(next)
	// A changed or removed provider starts with fresh breakers: a fixed key should not wait out the old one's.
	for n := range old.stored {
		if next.upstreams[n] != old.upstreams[n] {
			e.router.Registry().Forget(n)
		}
	}
	close(old.replaced)
	return failed
}

// sameUpstreams reports whether two sets route every name to the same *Upstream.
func sameUpstreams(a, b *routing) bool {
	if len(a.upstreams) != len(b.upstreams) {
		return false
	}
	for n, up := range b.upstreams {
		if a.upstreams[n] != up {
			return false
		}
	}
	return true
}

// fingerprint is a provider's settings as bytes, to compare two versions of it. It holds key values: it is never
// shown nor logged.
func fingerprint(pc provider.Config) ([]byte, error) {
	b, err := yaml.Marshal(pc)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
	}
	return b, nil
}

// Stored reports whether name is routed as a provider from the store.
func (e *Engine) Stored(name string) bool {
	_, ok := e.routes().stored[name]
	return ok
}

// Router is the alias router, for listings (GET /api/models).
func (e *Engine) Router() *router.Router { return e.router }
