package provider

import (
	"fmt"
	"sort"
	"sync"

	"github.com/weir-gateway/weir/internal/config"
)

// Factory builds a provider from its config section. It returns config.Problems with paths relative to the
// provider's section ("base_url", "keys[0].value") so the caller can prefix them.
type Factory func(cfg config.Provider) (Provider, error)

var (
	mu       sync.RWMutex
	registry = map[string]Factory{}
)

// Register makes a provider type available by name; provider packages call it from init.
func Register(typ string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("provider: type registered twice: " + typ)
	}
	registry[typ] = f
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

// Build constructs the provider configured at providers[index].
func Build(index int, cfg config.Provider) (Provider, error) {
	at := fmt.Sprintf("providers[%d]", index)
	mu.RLock()
	f, ok := registry[cfg.Type]
	mu.RUnlock()
	if !ok {
		return nil, config.Problems{{Path: at + ".type", Msg: fmt.Sprintf("unknown provider type %q (known: %v)", cfg.Type, Types())}}
	}
	p, err := f(cfg)
	if err != nil {
		if ps, ok := err.(config.Problems); ok {
			for i := range ps {
				ps[i].Path = prefix(at, ps[i].Path)
			}
			return nil, ps
		}
		return nil, config.Problems{{Path: at, Msg: err.Error()}}
	}
	return p, nil
}

func prefix(at, p string) string {
	if p == "" {
		return at
	}
	return at + "." + p
}
