// Package providerset is the set of providers requests are routed to, as an immutable value: a change (a
// provider stored, edited or removed through the admin API) makes a new Set with Merge, and the gateway swaps it
// in with one atomic store, so the request path reads it with one atomic load and no lock. A request keeps the
// set it arrived with: a removed provider's in-flight and queued requests finish on it.
package providerset

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/provider"
)

// Provider is what a Set holds of a provider (*gateway.Upstream): its name and the models its config lists.
type Provider interface {
	comparable
	Name() string
	Models() []string
}

// Set is the providers of the config file and the stored ones, by name.
type Set[U Provider] struct {
	byName map[string]U
	names  []string // sorted, for stable listings
	list   []U      // in names' order
	// stored are the settings each stored provider was built from, to tell an edit from a reload of the same
	// thing; a name not here is the config file's.
	stored   map[string][]byte
	replaced chan struct{} // closed by Retire
}

// ErrShadowed is Merge's verdict on a stored provider whose name a configured provider has: the config file wins.
var ErrShadowed = errors.New("a provider of the config file has this name; the config file wins")

// New is the set of the config file's providers.
func New[U Provider](configured map[string]U) *Set[U] {
	s := &Set[U]{byName: configured, stored: map[string][]byte{}, replaced: make(chan struct{})}
	s.sort()
	return s
}

func (s *Set[U]) sort() {
	for n := range s.byName {
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	s.list = make([]U, len(s.names))
	for i, n := range s.names {
		s.list[i] = s.byName[n]
	}
}

// Get is the named provider, or U's zero value.
func (s *Set[U]) Get(name string) U { return s.byName[name] }

// Names lists the providers' names, sorted.
func (s *Set[U]) Names() []string { return s.names }

// List lists the providers in Names' order.
func (s *Set[U]) List() []U { return s.list }

// Stored reports whether name is routed as a provider from the store.
func (s *Set[U]) Stored(name string) bool {
	_, ok := s.stored[name]
	return ok
}

// Configured reports whether name is routed as a provider of the config file.
func (s *Set[U]) Configured(name string) bool {
	_, in := s.byName[name]
	return in && !s.Stored(name)
}

// Replaced is closed once the set is swapped out (Retire).
func (s *Set[U]) Replaced() <-chan struct{} { return s.replaced }

// Retire tells Replaced's readers the set was swapped out. Call it once, after the swap.
func (s *Set[U]) Retire() { close(s.replaced) }

// Build makes a stored provider from pc; prev is its version in the current set, U's zero value for a new one.
type Build[U Provider] func(pc provider.Config, prev U) (U, error)

// Merge is s with cfgs as its stored providers, beside the configured ones. A provider whose settings did not
// change keeps its U; an edited or new one is built. It returns nil for next when next would route every name
// to what s does; changed names the stored providers edited or removed; failed says why each provider it could
// not route is left out (ErrShadowed, a build error with paths relative to the entry), the others are routed
// whatever happens to them.
func (s *Set[U]) Merge(cfgs []provider.Config, build Build[U]) (next *Set[U], changed []string, failed map[string]error) {
	next = &Set[U]{byName: make(map[string]U, len(s.byName)+len(cfgs)), stored: map[string][]byte{}, replaced: make(chan struct{})}
	for n, u := range s.byName {
		if !s.Stored(n) {
			next.byName[n] = u
		}
	}
	failed = map[string]error{}
	for _, pc := range cfgs {
		if s.Configured(pc.Name) {
			failed[pc.Name] = ErrShadowed
			continue
		}
		if _, dup := next.byName[pc.Name]; dup {
			failed[pc.Name] = fmt.Errorf("provider %q is given twice", pc.Name)
			continue
		}
		fp, err := fingerprint(pc)
		if err != nil {
			failed[pc.Name] = err
			continue
		}
		if prev, had := s.stored[pc.Name]; had && bytes.Equal(prev, fp) {
			next.byName[pc.Name], next.stored[pc.Name] = s.byName[pc.Name], prev
			continue
		}
		u, err := build(pc, s.byName[pc.Name])
		if err != nil {
			failed[pc.Name] = RelativeProblems(err)
			continue
		}
		next.byName[pc.Name], next.stored[pc.Name] = u, fp
	}
	if s.same(next) {
		return nil, nil, failed // nothing changed: keep the set (and the model lists) as they are
	}
	next.sort()
	for n := range s.stored {
		if next.byName[n] != s.byName[n] {
			changed = append(changed, n)
		}
	}
	return next, changed, failed
}

// NameError is why Resolve found no provider for a name; Msg says what to name instead.
type NameError struct {
	Ambiguous bool // more than one provider lists the bare model; else none serves the name
	Msg       string
}

func (e *NameError) Error() string { return e.Msg }

// Resolve maps "provider/model", or a bare model that one provider lists, to the provider and its model id.
func (s *Set[U]) Resolve(name string) (U, string, *NameError) {
	var found U
	prov, model, ok := strings.Cut(name, "/")
	if up, in := s.byName[prov]; ok && in && model != "" {
		return up, model, nil
	}
	// A bare model name is served by the one provider that lists it.
	foundName := ""
	for _, up := range s.list {
		if !slices.Contains(up.Models(), name) {
			continue
		}
		if foundName != "" {
			var none U
			return none, "", &NameError{Ambiguous: true, Msg: fmt.Sprintf(
				"model %q is served by providers %s and %s: name it as provider/model", name, foundName, up.Name())}
		}
		found, foundName = up, up.Name()
	}
	if foundName != "" {
		return found, name, nil
	}
	if ok {
		return found, "", &NameError{Msg: fmt.Sprintf("model %q: no provider named %q is configured (configured: %s)",
			name, prov, strings.Join(s.names, ", "))}
	}
	return found, "", &NameError{Msg: fmt.Sprintf("model %q not found: name it as provider/model (configured providers: %s)",
		name, strings.Join(s.names, ", "))}
}

// ConfiguredNames lists the config file's providers, sorted.
func (s *Set[U]) ConfiguredNames() []string {
	var out []string
	for _, n := range s.names {
		if !s.Stored(n) {
			out = append(out, n)
		}
	}
	return out
}

// same reports whether two sets route every name to the same U.
func (s *Set[U]) same(o *Set[U]) bool {
	if len(s.byName) != len(o.byName) {
		return false
	}
	for n, u := range o.byName {
		if cur, ok := s.byName[n]; !ok || cur != u {
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

// RelativeProblems drops provider.Build's "providers[0]" from problem paths: a stored provider is no entry of a
// file.
func RelativeProblems(err error) error {
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
