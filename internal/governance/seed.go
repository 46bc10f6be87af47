package governance

import (
	"context"
	"fmt"

	"github.com/weir-gateway/weir/internal/store"
)

// GeneratedKey is a config-declared key whose secret Seed generated; the caller shows it once (logs it).
type GeneratedKey struct {
	ID     string
	Secret string
}

// Seed upserts the customers, teams and keys declared in cfg (as source "config") and deletes config-sourced
// rows no longer declared. Admin-created rows are left alone. A key without a value keeps the secret it got on
// an earlier start; only a key seen for the first time gets a generated one, returned here. Seed also sets the
// provider levels (cfg.Providers), which live in the config only (their counters are stored like any other).
func (s *Service) Seed(ctx context.Context, cfg *Config) ([]GeneratedKey, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var gen []GeneratedKey

	declared := map[string]bool{}
	for _, c := range cfg.Customers {
		declared["c:"+c.ID] = true
		rec := &store.Customer{ID: c.ID, Name: c.Name, Budget: c.Budget.toStore(), Limits: c.RateLimits.toStore(), Source: store.SourceConfig}
		if err := s.st.Customers().Put(ctx, rec); err != nil {
			return nil, fmt.Errorf("seed customer %s: %w", c.ID, err)
		}
		s.customers[c.ID] = rec
	}
	for _, t := range cfg.Teams {
		declared["t:"+t.ID] = true
		rec := &store.Team{ID: t.ID, Name: t.Name, CustomerID: t.Customer, Budget: t.Budget.toStore(), Limits: t.RateLimits.toStore(), MCP: t.MCP.toStore(), Source: store.SourceConfig}
		if err := s.st.Teams().Put(ctx, rec); err != nil {
			return nil, fmt.Errorf("seed team %s: %w", t.ID, err)
		}
		s.teams[t.ID] = rec
	}
	for _, k := range cfg.VirtualKeys {
		declared["k:"+k.ID] = true
		rec := &store.VirtualKey{ID: k.ID, Name: k.Name, TeamID: k.Team, CustomerID: k.Customer,
			Models: k.Models, Providers: k.Providers, MaxConcurrent: k.MaxConcurrent,
			Budget: k.Budget.toStore(), Limits: k.RateLimits.toStore(), MCP: k.MCP.toStore(), Disabled: k.Disabled, Source: store.SourceConfig}
		if len(k.ProviderLimits) > 0 {
			rec.ProviderLimits = map[string]store.Limits{}
			for p, l := range k.ProviderLimits {
				rec.ProviderLimits[p] = l.toStore()
			}
		}
		switch old := s.keys[k.ID]; {
		case k.Value != "":
			h := HashKey(k.Value)
			rec.Hash, rec.Hint = h[:], keyHint(k.Value)
		case old != nil && len(old.Hash) == len(KeyHash{}):
			rec.Hash, rec.Hint = old.Hash, old.Hint
		default:
			secret, err := GenerateKey()
			if err != nil {
				return nil, err
			}
			h := HashKey(secret)
			rec.Hash, rec.Hint = h[:], keyHint(secret)
			gen = append(gen, GeneratedKey{ID: k.ID, Secret: secret})
		}
		if err := s.st.VirtualKeys().Put(ctx, rec); err != nil {
			return nil, fmt.Errorf("seed virtual key %s: %w", k.ID, err)
		}
		s.keys[k.ID] = rec
	}

	// Provider levels live only in the config: each start (or reseed) replaces them whole.
	s.setProvidersLocked(cfg.Providers)

	// Retire config rows removed from the config, members before their parents.
	for id, k := range s.keys {
		if k.Source == store.SourceConfig && !declared["k:"+id] {
			if err := s.st.VirtualKeys().Delete(ctx, id); err != nil {
				return nil, fmt.Errorf("retire virtual key %s: %w", id, err)
			}
			delete(s.keys, id)
		}
	}
	for id, t := range s.teams {
		if t.Source == store.SourceConfig && !declared["t:"+id] {
			if err := s.st.Teams().Delete(ctx, id); err != nil {
				return nil, fmt.Errorf("retire team %s: %w", id, err)
			}
			delete(s.teams, id)
		}
	}
	for id, c := range s.customers {
		if c.Source == store.SourceConfig && !declared["c:"+id] {
			if err := s.st.Customers().Delete(ctx, id); err != nil {
				return nil, fmt.Errorf("retire customer %s: %w", id, err)
			}
			delete(s.customers, id)
		}
	}
	s.rebuildLocked()
	return gen, nil
}
