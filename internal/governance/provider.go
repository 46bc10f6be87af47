package governance

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/weir-gateway/weir/internal/store"
)

// Provider levels: a budget and rate limits on a whole provider account, shared by every request the gateway
// sends to that provider, with or without a virtual key. They are checked per attempt (AdmitTarget), not at
// admission, so routing can skip a target whose provider is over its limit and try the next one.
//
// Their counters live in the same registry as the other levels, under the subject "provider:<name>", so they
// are persisted and gossiped to the cluster exactly like key, team and customer counters.

// ProviderConfig declares one provider's budget and limits (`governance.providers[]`). Name is a provider's
// name as configured under `providers:`; governance does not see that list, the config loader checks it.
type ProviderConfig struct {
	Name       string        `yaml:"name"`
	Budget     *BudgetConfig `yaml:"budget"`
	RateLimits *RateLimits   `yaml:"rate_limits"`
}

// ProviderLimit is a provider level as configured (for admin views).
type ProviderLimit struct {
	Name   string
	Limits store.Limits
	Budget *store.Budget
}

// providerSubject is the counter subject of a provider level.
func providerSubject(name string) string { return "provider:" + name }

func checkProviders(ps []ProviderConfig, bad func(string, error)) {
	seen := map[string]bool{}
	for i, pc := range ps {
		p := fmt.Sprintf("providers[%d]", i)
		switch {
		case pc.Name == "":
			bad(p+".name", errors.New("required"))
		case strings.ContainsAny(pc.Name, "/ \t\n\x00"):
			bad(p+".name", fmt.Errorf("%q: a provider name has no '/' or spaces", pc.Name))
		case seen[pc.Name]:
			bad(p+".name", fmt.Errorf("duplicate %q", pc.Name))
		}
		seen[pc.Name] = true
		if pc.Budget == nil && pc.RateLimits == nil {
			bad(p, errors.New("set a budget, rate_limits or both"))
		}
		checkBudget(p, pc.Budget, bad)
		checkLimits(p+".rate_limits", pc.RateLimits, bad)
	}
}

// setProvidersLocked replaces the provider levels (the caller rebuilds the snapshot).
func (s *Service) setProvidersLocked(ps []ProviderConfig) {
	s.provs = make(map[string]ProviderLimit, len(ps))
	for _, pc := range ps {
		s.provs[pc.Name] = ProviderLimit{Name: pc.Name, Limits: pc.RateLimits.toStore(), Budget: pc.Budget.toStore()}
	}
}

// buildProvidersLocked makes the snapshot's provider levels; nil when none has a limit, which is what keeps
// the per-attempt check free when the feature is unused.
func (s *Service) buildProvidersLocked(now int64) map[string]*level {
	var out map[string]*level
	for name, pl := range s.provs {
		lv := s.buildLevel(providerSubject(name), "provider "+name, pl.Limits, pl.Budget, now)
		if len(lv.limits) == 0 {
			continue
		}
		if out == nil {
			out = make(map[string]*level, len(s.provs))
		}
		out[name] = lv
	}
	return out
}

// ProviderLimits lists the configured provider levels by name.
func (s *Service) ProviderLimits() []ProviderLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProviderLimit, 0, len(s.provs))
	for _, pl := range s.provs {
		out = append(out, pl)
	}
	slices.SortFunc(out, func(a, b ProviderLimit) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Target is what one attempt at a provider must pass beyond the request's admission: the provider's own level
// and, for a keyed request, the key's provider_limits for that provider when admission did not already take
// them. The zero Target checks nothing.
type Target struct {
	key  *level // the key's provider_limits for the target's provider
	prov *level // the provider level
}

// Empty reports whether t checks nothing (AdmitTarget would return nil, nil).
func (t Target) Empty() bool { return t.key == nil && t.prov == nil }

// Target returns the limits an attempt at provider must pass. requested is the model as the caller named it
// (the one given to Admit): when it is "provider/…" Admit already reserved the key's provider_limits for that
// provider, so they are not taken again. p may be nil (a request without a virtual key).
//
// With no provider level configured and no provider_limits on the key it costs one atomic load.
func (s *Service) Target(p *Principal, requested, provider string) Target {
	var t Target
	if provs := s.snap.Load().provs; provs != nil {
		t.prov = provs[provider]
	}
	if p != nil && p.provLimits != nil && !namesProvider(requested, provider) {
		t.key = p.provLimits[provider]
	}
	return t
}

// namesProvider reports whether model is "provider/…" (the form for which Admit applies provider limits).
func namesProvider(model, provider string) bool {
	return len(model) > len(provider) && model[len(provider)] == '/' && model[:len(provider)] == provider
}

// AdmitTarget checks and reserves one request plus est against t's limits, like Admit does for the request's
// levels: either everything is reserved, or nothing is and the Denial names the provider and the limit
// ("provider openai: rpm 1000", "virtual key ci-bot: openai rpm 5"). An empty t returns nil, nil (Settle and
// Release accept a nil Reservation).
func (s *Service) AdmitTarget(t Target, est Estimate) (*Reservation, *Denial) {
	if t.Empty() {
		return nil, nil
	}
	now := s.now()
	r := resPool.Get().(*Reservation)
	r.s = s
	tokens, cost := max(est.Tokens, 1), max(int64(est.Cost), 1)
	if cs := s.opt.Counters; cs != nil {
		if d := r.reserveStored(cs, now, tokens, cost, nil, [2]*level{t.key, t.prov}); d != nil {
			r.finish()
			return nil, d
		}
		return r, nil
	}
	for _, lv := range [2]*level{t.key, t.prov} {
		if lv == nil {
			continue
		}
		if d := r.reserve(lv, now, tokens, cost); d != nil {
			return nil, t.complete(d, now)
		}
	}
	return r, nil
}

// complete fills the header figures of a target denial from t's other limits (see completeInfo).
func (t Target) complete(d *Denial, now int64) *Denial {
	req, tok := d.Requests, d.Tokens
	for _, lv := range [2]*level{t.key, t.prov} {
		if lv == nil {
			continue
		}
		for i := range lv.limits {
			l := &lv.limits[i]
			switch l.kind {
			case kindRequests:
				req.offer(l.c.Peek(now, l.max))
			case kindTokens:
				tok.offer(l.c.Peek(now, l.max))
			}
		}
	}
	if !d.Requests.Set {
		d.Requests = req
	}
	if !d.Tokens.Set {
		d.Tokens = tok
	}
	return d
}

// PeekProvider reports every limit of a provider level without reserving, or nil when it has none.
func (s *Service) PeekProvider(name string) []LimitStatus {
	lv := s.snap.Load().provs[name]
	if lv == nil {
		return nil
	}
	now := s.now()
	out := make([]LimitStatus, 0, len(lv.limits))
	for _, l := range lv.limits {
		out = append(out, LimitStatus{Subject: lv.label, Limit: l.label, Metric: l.metric, Status: l.c.Peek(now, l.max)})
	}
	return out
}
