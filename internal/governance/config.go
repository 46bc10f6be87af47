package governance

import (
	"errors"
	"fmt"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/store"
)

// Config is the `governance:` section. (`client.enforce_governance_header` belongs to the client section: when
// true the HTTP layer refuses requests without a virtual key; governance itself does not read headers.)
type Config struct {
	Customers   []CustomerConfig   `yaml:"customers"`
	Teams       []TeamConfig       `yaml:"teams"`
	VirtualKeys []VirtualKeyConfig `yaml:"virtual_keys"`
	// Providers are budgets and limits of whole provider accounts, binding every request sent to the provider
	// (with or without a virtual key). A target over its provider's budget or limit is skipped by routing.
	Providers []ProviderConfig `yaml:"providers"`
	// PriceFile is a LiteLLM-format JSON merged over the built-in prices.
	PriceFile string      `yaml:"price_file"`
	Store     StoreConfig `yaml:"store"`
	// FlushInterval is how often dirty counters are written to the store (default 5s).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// ConcurrencyWait is how long a request waits for a max_concurrent slot before being refused (default 100ms).
	ConcurrencyWait time.Duration `yaml:"concurrency_wait"`
}

// StoreConfig selects the persistence backend.
type StoreConfig struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is a file path or ":memory:" for sqlite (default: weir.db in the data dir), a connection URL for postgres.
	DSN string `yaml:"dsn"`
}

// BudgetConfig caps spend per reset period.
type BudgetConfig struct {
	MaxUSD float64 `yaml:"max_usd"`
	Reset  string  `yaml:"reset"`
}

// RateLimits are per-minute/hour/day request and token limits; 0 means none.
type RateLimits struct {
	RPM int64 `yaml:"rpm"`
	TPM int64 `yaml:"tpm"`
	RPH int64 `yaml:"rph"`
	TPH int64 `yaml:"tph"`
	RPD int64 `yaml:"rpd"`
	TPD int64 `yaml:"tpd"`
}

// CustomerConfig declares a customer.
type CustomerConfig struct {
	ID         string        `yaml:"id"`
	Name       string        `yaml:"name"`
	Budget     *BudgetConfig `yaml:"budget"`
	RateLimits *RateLimits   `yaml:"rate_limits"`
}

// TeamConfig declares a team, optionally under a customer.
type TeamConfig struct {
	ID         string        `yaml:"id"`
	Name       string        `yaml:"name"`
	Customer   string        `yaml:"customer"`
	Budget     *BudgetConfig `yaml:"budget"`
	RateLimits *RateLimits   `yaml:"rate_limits"`
	// MCP is the team's MCP allow-list: its keys inherit it, and a key's own list can only narrow it.
	MCP *MCPAccessConfig `yaml:"mcp"`
}

// VirtualKeyConfig declares a virtual key under a team, a customer, or neither.
type VirtualKeyConfig struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Value seeds a known secret (wk-…); when empty a secret is generated on first start and returned by Seed.
	Value    string `yaml:"value"`
	Team     string `yaml:"team"`
	Customer string `yaml:"customer"`
	// Models allow-lists model names (aliases or provider/model; "provider/*" for all of a provider).
	Models    []string `yaml:"models"`
	Providers []string `yaml:"providers"`
	// ProviderLimits are extra limits per provider name, e.g. {openai: {rpm: 5}}.
	ProviderLimits map[string]RateLimits `yaml:"provider_limits"`
	MaxConcurrent  int                   `yaml:"max_concurrent"`
	RateLimits     *RateLimits           `yaml:"rate_limits"`
	Budget         *BudgetConfig         `yaml:"budget"`
	// MCP allow-lists the MCP servers and tools the key may use (deny by default; see docs/mcp.md).
	MCP      *MCPAccessConfig `yaml:"mcp"`
	Disabled bool             `yaml:"disabled"`
}

func (r *RateLimits) toStore() store.Limits {
	if r == nil {
		return store.Limits{}
	}
	return store.Limits{RPM: r.RPM, TPM: r.TPM, RPH: r.RPH, TPH: r.TPH, RPD: r.RPD, TPD: r.TPD}
}

func (b *BudgetConfig) toStore() *store.Budget {
	if b == nil {
		return nil
	}
	return &store.Budget{MaxUSD: pricing.FromUSD(b.MaxUSD), Reset: b.Reset}
}

// Validate checks the section, naming each problem's field path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path string, err error) { errs = append(errs, fmt.Errorf("governance.%s: %w", path, err)) }
	customers := map[string]bool{}
	for i, cu := range c.Customers {
		p := fmt.Sprintf("customers[%d]", i)
		if cu.ID == "" {
			bad(p+".id", errors.New("required"))
		} else if customers[cu.ID] {
			bad(p+".id", fmt.Errorf("duplicate %q", cu.ID))
		}
		customers[cu.ID] = true
		checkBudget(p, cu.Budget, bad)
		checkLimits(p+".rate_limits", cu.RateLimits, bad)
	}
	teams := map[string]bool{}
	for i, t := range c.Teams {
		p := fmt.Sprintf("teams[%d]", i)
		if t.ID == "" {
			bad(p+".id", errors.New("required"))
		} else if teams[t.ID] {
			bad(p+".id", fmt.Errorf("duplicate %q", t.ID))
		}
		teams[t.ID] = true
		if t.Customer != "" && !customers[t.Customer] {
			bad(p+".customer", fmt.Errorf("unknown customer %q", t.Customer))
		}
		checkBudget(p, t.Budget, bad)
		checkLimits(p+".rate_limits", t.RateLimits, bad)
		if f, err := CheckMCPAccess(t.MCP.toStore()); err != nil {
			bad(p+".mcp."+f, err)
		}
	}
	keys := map[string]bool{}
	for i, k := range c.VirtualKeys {
		p := fmt.Sprintf("virtual_keys[%d]", i)
		if k.ID == "" {
			bad(p+".id", errors.New("required"))
		} else if keys[k.ID] {
			bad(p+".id", fmt.Errorf("duplicate %q", k.ID))
		}
		keys[k.ID] = true
		if k.Value != "" {
			if err := ValidateKeyFormat(k.Value); err != nil {
				bad(p+".value", fmt.Errorf("must be wk- followed by at least %d letters, digits, '-' or '_'", MinSeededKeyChars))
			}
		}
		if k.Team != "" && k.Customer != "" {
			bad(p, errors.New("set team or customer, not both (a team already names its customer)"))
		}
		if k.Team != "" && !teams[k.Team] {
			bad(p+".team", fmt.Errorf("unknown team %q", k.Team))
		}
		if k.Customer != "" && !customers[k.Customer] {
			bad(p+".customer", fmt.Errorf("unknown customer %q", k.Customer))
		}
		if k.MaxConcurrent < 0 {
			bad(p+".max_concurrent", errors.New("must be >= 0"))
		}
		checkBudget(p, k.Budget, bad)
		checkLimits(p+".rate_limits", k.RateLimits, bad)
		for prov, l := range k.ProviderLimits {
			checkLimits(p+".provider_limits."+prov, &l, bad)
		}
		if f, err := CheckMCPAccess(k.MCP.toStore()); err != nil {
			bad(p+".mcp."+f, err)
		}
	}
	checkProviders(c.Providers, bad)
	switch c.Store.Driver {
	case "", "sqlite", "postgres":
	default:
		bad("store.driver", fmt.Errorf("%q: want sqlite or postgres", c.Store.Driver))
	}
	if c.Store.Driver == "postgres" && c.Store.DSN == "" {
		bad("store.dsn", errors.New("required for postgres"))
	}
	return errors.Join(errs...)
}

func checkBudget(p string, b *BudgetConfig, bad func(string, error)) {
	if b == nil {
		return
	}
	if b.MaxUSD < 0 {
		bad(p+".budget.max_usd", errors.New("must be >= 0"))
	}
	if _, err := ParseReset(b.Reset); err != nil {
		bad(p+".budget.reset", err)
	}
}

func checkLimits(p string, l *RateLimits, bad func(string, error)) {
	if l == nil {
		return
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"rpm", l.RPM}, {"tpm", l.TPM}, {"rph", l.RPH}, {"tph", l.TPH}, {"rpd", l.RPD}, {"tpd", l.TPD}} {
		if f.v < 0 || f.v > MaxWindowCount {
			bad(p+"."+f.name, fmt.Errorf("must be between 0 and %d", int64(MaxWindowCount)))
		}
	}
}
