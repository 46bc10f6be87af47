package governance

import (
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/store"
)

// amountKind says what a limit counts.
type amountKind uint8

const (
	kindRequests amountKind = iota
	kindTokens
	kindCost
)

// limit is one enforced limit of one subject, resolved when the snapshot is built.
type limit struct {
	c      Counter
	max    int64
	kind   amountKind
	metric string // persisted metric name, e.g. "rpm", "tpd@openai", "spend/1d"
	label  string // for denials, e.g. "rpm 10", "budget $0.01/1d"
}

// level is one subject (key, team or customer) with its limits. Teams and customers are shared by every key
// under them, so their counters are too.
type level struct {
	label  string // "virtual key ci-bot", "team platform", "customer acme"
	limits []limit
}

// Principal is an authenticated virtual key with its place in the hierarchy, resolved into an immutable
// structure at snapshot build so admission touches no map and takes no lock.
type Principal struct {
	rec        *store.VirtualKey
	customerID string            // directly or through the team
	levels     []*level          // the key, then its team, then its customer (those that exist)
	provLimits map[string]*level // per-provider limits of the key
	models     []string
	providers  map[string]bool
	mcp        mcpAccess
	sem        chan struct{} // nil: no max_concurrent
	disabled   bool          // the key, its team or its customer is disabled
	expiresAt  int64         // Unix ns; 0 never
}

// ID is the virtual key's id.
func (p *Principal) ID() string { return p.rec.ID }

// Name is the key's display name (its id when unnamed).
func (p *Principal) Name() string {
	if p.rec.Name != "" {
		return p.rec.Name
	}
	return p.rec.ID
}

// TeamID is the key's team, or "".
func (p *Principal) TeamID() string { return p.rec.TeamID }

// CustomerID is the key's customer (directly or through its team), or "".
func (p *Principal) CustomerID() string { return p.customerID }

// AllowsModel reports whether the key may use model (as requested: alias, bare model or provider/model).
// An entry matches exactly, "provider/*" matches a provider's models, and a bare requested name matches an
// entry "provider/<name>".
func (p *Principal) AllowsModel(model string) bool {
	if len(p.models) == 0 {
		return true
	}
	prov, bare, hasProv := strings.Cut(model, "/")
	for _, m := range p.models {
		if m == model {
			return true
		}
		mp, mb, mHasProv := strings.Cut(m, "/")
		if hasProv && mHasProv && mb == "*" && mp == prov {
			return true
		}
		if !hasProv && mHasProv && mb == model {
			return true
		}
	}
	_ = bare
	return false
}

// AllowsProvider reports whether the key may use provider.
func (p *Principal) AllowsProvider(provider string) bool {
	return len(p.providers) == 0 || p.providers[provider]
}

// usable reads the clock only for keys that expire (the clock read costs more than the rest of the check).
func (p *Principal) usable(now func() int64) bool {
	return !p.disabled && (p.expiresAt == 0 || now() < p.expiresAt)
}

func windowOf(metric string) time.Duration {
	switch metric[len(metric)-1] {
	case 'm':
		return time.Minute
	case 'h':
		return time.Hour
	default:
		return 24 * time.Hour
	}
}
