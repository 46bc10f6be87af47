package router

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnknownModel means the requested model is neither an alias nor a "provider/model" of a known
// provider; the gateway answers 404.
var ErrUnknownModel = errors.New("unknown model")

// Options are the router-wide settings beside the model list.
type Options struct {
	// Registry holds target state; pass the previous router's registry on config reload so breakers and
	// latency averages survive. nil: a new one.
	Registry *Registry
	// Retries is the global `retries:` default for aliases without their own and for plain
	// "provider/model" requests. nil: DefaultRetries.
	Retries *Retries
	// Breaker is the global `cooldown:` block. nil: DefaultBreaker.
	Breaker *BreakerConfig
	// ProviderExists validates provider names in config and in "provider/model" requests. nil: any.
	ProviderExists func(string) bool
	// Now is the clock (nil: time.Now). It should be the registry's clock too.
	Now func() time.Time
	// Rand drives strategies and jitter (nil: GlobalRand). A seeded *rand.Rand is not goroutine-safe:
	// only for single-goroutine tests.
	Rand Rand
	// MaxRetryWait bounds one backoff wait when the request has no deadline. 0: DefaultMaxRetryWait.
	MaxRetryWait time.Duration
}

// Router resolves a requested model into a Plan. It is immutable after New and safe for concurrent
// use; on reload build a new one (with the same Registry) and swap it atomically.
type Router struct {
	models         []ModelConfig
	aliases        map[string]*alias
	reg            *Registry
	retries        Retries
	providerExists func(string) bool
	now            func() time.Time
	rnd            Rand
	maxWait        time.Duration
}

// group is one alias's own targets, or a single "provider/model" fallback named in config, with the
// retry and timeout settings its attempts use.
type group struct {
	alias    string
	targets  []*TargetState
	strategy Strategy // nil when there is a single target
	retries  Retries
	timeout  time.Duration
}

// alias is a configured model with its fallbacks expanded once at build time, depth first, each alias at
// most once, so Plan only walks a precomputed list.
type alias struct {
	self  *group
	chain []*group
}

// New validates models and builds the router.
func New(models []ModelConfig, opts Options) (*Router, error) {
	if errs := Validate(models, opts.ProviderExists); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r := &Router{
		models:         models,
		aliases:        make(map[string]*alias, len(models)),
		reg:            opts.Registry,
		retries:        DefaultRetries,
		providerExists: opts.ProviderExists,
		now:            opts.Now,
		rnd:            opts.Rand,
		maxWait:        opts.MaxRetryWait,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.reg == nil {
		r.reg = NewRegistry(r.now)
	}
	if r.rnd == nil {
		r.rnd = GlobalRand{}
	}
	if r.maxWait <= 0 {
		r.maxWait = DefaultMaxRetryWait
	}
	if opts.Retries != nil {
		r.retries = *opts.Retries
	}
	r.retries = r.retries.withDefaults()

	global := DefaultBreaker
	if opts.Breaker != nil {
		global = opts.Breaker.withDefaults()
	}
	r.reg.breaker.Store(&global)
	r.reg.m.Range(func(_, v any) bool { // a reload resets overrides that are no longer configured
		c := global
		v.(*TargetState).breaker.cfg.Store(&c)
		return true
	})
	overridden := map[*TargetState]bool{}

	for _, m := range models {
		g := &group{alias: m.Name, retries: r.retries, timeout: m.Timeout}
		if m.Retries != nil {
			g.retries = m.Retries.withDefaults()
		}
		weights := make([]int, len(m.Targets))
		for i, t := range m.Targets {
			ts := r.reg.Get(t.Provider, t.Model)
			// The breaker lives on the shared target: the first alias with a cooldown block sets it.
			if m.Cooldown != nil && !overridden[ts] {
				c := m.Cooldown.withDefaults()
				ts.breaker.cfg.Store(&c)
				overridden[ts] = true
			}
			g.targets = append(g.targets, ts)
			weights[i] = t.Weight
		}
		if len(g.targets) > 1 {
			s, err := NewStrategy(m.Strategy, weights)
			if err != nil {
				return nil, fmt.Errorf("model %q: %w", m.Name, err)
			}
			g.strategy = s
		}
		r.aliases[m.Name] = &alias{self: g}
	}
	byName := make(map[string]ModelConfig, len(models))
	for _, m := range models {
		byName[m.Name] = m
	}
	for _, m := range models {
		seen := map[string]bool{}
		r.aliases[m.Name].chain = r.expand(m.Name, byName, seen, nil)
	}
	return r, nil
}

// expand lists name's group then its fallbacks' groups, recursively. seen guards against cycles and
// diamonds (Validate already rejects cycles; this keeps expansion finite regardless).
func (r *Router) expand(name string, byName map[string]ModelConfig, seen map[string]bool, out []*group) []*group {
	if seen[name] {
		return out
	}
	seen[name] = true
	a := r.aliases[name]
	out = append(out, a.self)
	for _, f := range byName[name].Fallbacks {
		if _, ok := r.aliases[f]; ok {
			out = r.expand(f, byName, seen, out)
			continue
		}
		if p, m, ok := splitTarget(f); ok {
			// A "provider/model" fallback inherits the naming alias's retries and timeout.
			out = append(out, &group{alias: name, targets: []*TargetState{r.reg.Get(p, m)},
				retries: a.self.retries, timeout: a.self.timeout})
		}
	}
	return out
}

// Registry returns the target registry (for the debug endpoint and reloads).
func (r *Router) Registry() *Registry { return r.reg }

// DefaultRetries returns the retries used by plain "provider/model" requests and aliases without their own.
func (r *Router) DefaultRetries() Retries { return r.retries }

// Has reports whether name is a configured alias.
func (r *Router) Has(name string) bool { _, ok := r.aliases[name]; return ok }

// Models lists the configured aliases as configured, in config order (GET /api/models).
func (r *Router) Models() []ModelConfig { return r.models }

// Aliases lists the configured alias names (for /v1/models).
func (r *Router) Aliases() []string {
	out := make([]string, 0, len(r.aliases))
	for n := range r.aliases {
		out = append(out, n)
	}
	return out
}

// direct resolves a plain "provider/model" that is not an alias.
func (r *Router) direct(name string) (*TargetState, bool) {
	p, m, ok := splitTarget(name)
	if !ok || (r.providerExists != nil && !r.providerExists(p)) {
		return nil, false
	}
	return r.reg.get(p, m, true), true
}
