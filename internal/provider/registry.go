package provider

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/confkit"
)

// entry is a registered type: how to check its settings and how to build it.
type entry struct {
	check func(settings *yaml.Node) confkit.Problems
	build func(c Common, settings *yaml.Node) (Provider, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]entry{}
)

// Register makes a provider type available by name; provider packages call it from init. S is the type's own
// settings struct: the fields of an entry beyond Common are decoded into it strictly, so a field the type does
// not have is an "unknown field" problem at its path. A type without settings uses struct{}.
//
// build returns confkit.Problems with paths relative to the entry ("base_url", "keys[0].value") so Build can
// prefix them.
func Register[S any](typ string, build func(c Common, s S) (Provider, error)) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("provider: type registered twice: " + typ)
	}
	registry[typ] = entry{
		check: func(n *yaml.Node) confkit.Problems {
			var s S
			return confkit.Decode(n, &s)
		},
		build: func(c Common, n *yaml.Node) (Provider, error) {
			var s S
			if ps := confkit.Decode(n, &s); len(ps) > 0 {
				return nil, ps
			}
			return build(c, s)
		},
	}
}

// Known reports whether typ is a registered provider type.
func Known(typ string) bool {
	mu.RLock()
	defer mu.RUnlock()
	_, ok := registry[typ]
	return ok
}

// Types lists the registered provider types, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	ts := make([]string, 0, len(registry))
	for t := range registry {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// Build constructs the provider configured at providers[index]. Problems come back as confkit.Problems with
// paths from the document's root.
func Build(index int, cfg Config) (Provider, error) {
	at := fmt.Sprintf("providers[%d]", index)
	mu.RLock()
	e, ok := registry[cfg.Type]
	mu.RUnlock()
	if !ok {
		return nil, confkit.Problems{{Path: at + ".type", Msg: fmt.Sprintf("unknown provider type %q (known: %v)", cfg.Type, Types())}}
	}
	p, err := e.build(cfg.Common, cfg.Settings)
	if err != nil {
		var ps confkit.Problems
		if errors.As(err, &ps) {
			return nil, ps.Prefix(at)
		}
		return nil, confkit.Problems{{Path: at, Msg: err.Error()}}
	}
	return p, nil
}
